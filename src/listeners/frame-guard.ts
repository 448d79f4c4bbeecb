// The frame guard: a stage of its own on every listener (tcp, tls, ws, wss),
// between the transport and the engine. It reads the fixed header of each
// MQTT packet as the bytes enter the connection's stream and refuses a packet
// whose declared size is over limits.maxPacketSize before its body is
// buffered: neither aedes nor mqtt-packet has a limit of their own before the
// parser has taken the bytes in (mqtt-packet accepts up to 256 MB), so a
// client announcing 200 MB could otherwise make the broker hold it.
// What follows a refused header is read and dropped (never buffered), and the
// connection's owner is told once, to close it (a connected MQTT 5 client
// hears DISCONNECT 0x95 Packet too large first [MQTT-3.2.2-15]).
import type { Duplex } from 'node:stream'
import { FixedHeaderScanner } from '../core/fixed-header-scanner.ts'

/** The guard of one connection. */
export interface FrameGuard {
  /** Called once when a packet over the limit is announced; the default destroys the stream. */
  onOversize: (size: number, limit: number) => void
  /** Whether a packet was refused (everything after it is dropped). */
  readonly refused: boolean
}

type Push = (chunk: unknown, encoding?: BufferEncoding) => boolean

/**
 * Puts the guard in front of `stream`'s readable side: every chunk the
 * transport pushes (socket reads, WebSocket messages) is scanned before it
 * is buffered. `maxPacketSize` is read at each packet, so a reload applies.
 */
export function guardFrames (stream: Duplex, maxPacketSize: () => number): FrameGuard {
  const scanner = new FixedHeaderScanner(maxPacketSize)
  const push = stream.push as Push
  // 'scanning' until a problem; 'refused' drops the rest; 'off' after a
  // malformed remaining length (framing is lost: the parser reports it).
  let state: 'scanning' | 'refused' | 'off' = 'scanning'
  const guard: FrameGuard = {
    onOversize: () => { stream.destroy() },
    get refused () { return state === 'refused' }
  }
  const guardedPush: Push = function (this: Duplex, chunk, encoding) {
    if (chunk === null || chunk === undefined) return push.call(this, chunk, encoding)
    if (state === 'refused') return true // read and dropped: never buffered
    if (state === 'off') return push.call(this, chunk, encoding)
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk as Uint8Array
    const problem = scanner.feed(bytes)
    if (problem === undefined) return push.call(this, chunk, encoding)
    if (problem.kind === 'malformed') {
      state = 'off'
      return push.call(this, chunk, encoding)
    }
    state = 'refused'
    // the packets before the refused one are delivered as usual
    if (problem.offset > 0) push.call(this, Buffer.from(bytes.buffer, bytes.byteOffset, problem.offset))
    guard.onOversize(problem.size, problem.limit)
    return true
  }
  stream.push = guardedPush as Duplex['push']
  // Bytes the transport buffered before the guard was put in place (what
  // followed a PROXY protocol header in the same segment) are scanned too.
  if (stream.readableLength > 0) {
    const pending = stream.read() as unknown
    if (pending !== null) guardedPush.call(stream, pending)
  }
  return guard
}
