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

/** Where a guarded stream keeps its guard (read by the shared push). */
const GUARD = Symbol('edgemq.frameGuard')
type GuardedStream = Duplex & { [GUARD]: StreamFrameGuard }

/**
 * Puts the guard in front of `stream`'s readable side: every chunk the
 * transport pushes (socket reads, WebSocket messages) is scanned before it
 * is buffered. `maxPacketSize` is read at each packet, so a reload applies.
 * One object per connection and one push function shared by all of them (a
 * guard built of closures was ~0.4 KiB of each idle connection, issue 10).
 */
export function guardFrames (stream: Duplex, maxPacketSize: () => number): FrameGuard {
  const guard = new StreamFrameGuard(stream, new FixedHeaderScanner(maxPacketSize), stream.push as Push)
  ;(stream as GuardedStream)[GUARD] = guard
  stream.push = guardedPush as Duplex['push']
  if (stream.readableLength > 0) {
    const pending = stream.read() as unknown
    if (pending !== null) guardedPush.call(stream as GuardedStream, pending)
  }
  return guard
}

function guardedPush (this: GuardedStream, chunk: unknown, encoding?: BufferEncoding): boolean {
  return this[GUARD].push(this, chunk, encoding)
}

class StreamFrameGuard implements FrameGuard {
  #state: 'scanning' | 'refused' | 'off' = 'scanning'
  readonly #stream: Duplex
  readonly #scanner: FixedHeaderScanner
  /** The stream's own push, which the guard calls for what it lets through. */
  readonly #push: Push

  constructor (stream: Duplex, scanner: FixedHeaderScanner, push: Push) {
    this.#stream = stream
    this.#scanner = scanner
    this.#push = push
  }

  get refused (): boolean { return this.#state === 'refused' }

  /** The default: destroys the stream (the broker sets its own). */
  onOversize (_size: number, _limit: number): void { this.#stream.destroy() }

  push (stream: Duplex, chunk: unknown, encoding?: BufferEncoding): boolean {
    const push = this.#push
    if (chunk === null || chunk === undefined) return push.call(stream, chunk, encoding)
    if (this.#state === 'refused') return true // read and dropped: never buffered
    if (this.#state === 'off') return push.call(stream, chunk, encoding)
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk as Uint8Array
    const problem = this.#scanner.feed(bytes)
    if (problem === undefined) return push.call(stream, chunk, encoding)
    if (problem.kind === 'malformed') {
      this.#state = 'off'
      return push.call(stream, chunk, encoding)
    }
    this.#state = 'refused'
    if (problem.offset > 0) push.call(stream, Buffer.from(bytes.buffer, bytes.byteOffset, problem.offset))
    this.onOversize(problem.size, problem.limit)
    return true
  }
}
