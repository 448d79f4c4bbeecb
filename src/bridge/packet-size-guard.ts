// Stops a hostile or broken upstream from making the bridge buffer a huge
// packet. MQTT.js (through mqtt-packet) buffers a whole packet of up to 256 MB
// before it looks at it; this reads only the fixed header of each packet as
// the bytes stream past and fails the connection as soon as a declared length
// is over the limit, before its payload is buffered.
import { Duplex } from 'node:stream'

/** Tracks packet boundaries in an MQTT byte stream from fixed headers only. */
export class FixedHeaderScanner {
  private readonly maxPacketSize: number
  /** Bytes still to skip in the current packet body. */
  private remaining = 0
  /** 0 = expect a first header byte; 1..4 = reading remaining-length bytes. */
  private lengthBytes = -1
  private value = 0
  private multiplier = 1

  constructor (maxPacketSize: number) {
    this.maxPacketSize = maxPacketSize
  }

  /** Feeds bytes; returns a problem sentence when the stream is over the limit or malformed. */
  feed (chunk: Uint8Array): string | undefined {
    let i = 0
    while (i < chunk.length) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, chunk.length - i)
        this.remaining -= take
        i += take
        continue
      }
      const byte = chunk[i++]
      if (this.lengthBytes === -1) { // first byte: packet type and flags
        this.lengthBytes = 0
        this.value = 0
        this.multiplier = 1
        continue
      }
      this.value += (byte & 0x7f) * this.multiplier
      this.multiplier *= 128
      this.lengthBytes++
      if ((byte & 0x80) !== 0) {
        // [MQTT-2.2.3] the remaining length is at most four bytes
        if (this.lengthBytes === 4) return 'malformed remaining length (more than 4 bytes)'
        continue
      }
      const total = 1 + this.lengthBytes + this.value
      if (total > this.maxPacketSize) return `packet of ${total} bytes is over bridge maxPacketSize ${this.maxPacketSize}`
      this.remaining = this.value
      this.lengthBytes = -1
    }
    return undefined
  }
}

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
      outer.destroy(Object.assign(new Error(problem), { code: 'EDGEMQ_BRIDGE_PACKET_TOO_LARGE' }))
      return
    }
    if (!outer.push(chunk)) inner.pause()
  })
  inner.on('end', () => outer.push(null))
  inner.on('error', (err) => outer.destroy(err))
  inner.on('close', () => { if (!outer.destroyed) outer.destroy() })
  return outer
}
