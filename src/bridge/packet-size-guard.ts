// Stops a hostile or broken upstream from making the bridge buffer a huge
// packet. MQTT.js (through mqtt-packet) buffers a whole packet of up to 256 MB
// before it looks at it; this reads only the fixed header of each packet as
// the bytes stream past and fails the connection as soon as a declared length
// is over the limit, before its payload is buffered (the scanner is shared with
// the frame guard of the listeners: src/core/fixed-header-scanner.ts).
import { Duplex } from 'node:stream'
import { FixedHeaderScanner } from '../core/fixed-header-scanner.ts'

/**
 * Wraps a transport stream: writes pass straight through, reads pass through a
 * FixedHeaderScanner; an oversized or malformed packet destroys the stream
 * with an error whose code is EDGEMQ_BRIDGE_PACKET_TOO_LARGE.
 */
export function guardPacketSize (inner: Duplex, maxPacketSize: number): Duplex {
  const scanner = new FixedHeaderScanner(maxPacketSize)
  const outer = new Duplex({
    write (chunk: Buffer, _encoding, callback) { inner.write(chunk, callback) },
    final (callback) { inner.end(callback) },
    read () { inner.resume() },
    destroy (err, callback) { inner.destroy(); callback(err) }
  })
  inner.on('data', (chunk: Buffer) => {
    const problem = scanner.feed(chunk)
    if (problem !== undefined) {
      const message = problem.kind === 'oversize' ? `packet of ${problem.size} bytes is over bridge maxPacketSize ${maxPacketSize}` : 'malformed remaining length (more than 4 bytes)'
      outer.destroy(Object.assign(new Error(message), { code: 'EDGEMQ_BRIDGE_PACKET_TOO_LARGE' }))
      return
    }
    if (!outer.push(chunk)) inner.pause()
  })
  inner.on('end', () => outer.push(null))
  inner.on('error', (err) => outer.destroy(err))
  inner.on('close', () => { if (!outer.destroyed) outer.destroy() })
  return outer
}
