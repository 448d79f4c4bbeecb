// Override: mqtt-packet's `writeToStream`, for the whole process.
// What aedes does: its write() (lib/write.js) calls mqtt-packet's
//   writeToStream for every outgoing packet, which writes a PUBLISH as five
//   small chunks with a debug() call each, encodes the same message again for
//   every subscriber, and uncorks on process.nextTick (one writev per packet).
// What edgemq does instead: MQTT 3.1/3.1.1 PUBLISH and acknowledgements go
//   through src/core/publish-encoder.ts (one buffer; a QoS 0 message encoded
//   once for all its subscribers) and stay corked until the end of the event
//   loop turn; MQTT 5 and anything unusual falls through to mqtt-packet.
//   Measured: 35 % of the fan-out benchmark's CPU was under uncork/writev.
// Canary: test/engine/install-publish-encoder.test.ts (aedes still writes
//   through the mqtt-packet module object's writeToStream, so replacing it
//   there changes what aedes sends).
import { PublishEncoder, type EncodablePacket } from '../core/publish-encoder.ts'

/** A writable the encoder writes to (a socket or any Duplex). */
interface WritableLike {
  write: (chunk: Buffer) => boolean
  cork?: () => void
  uncork?: () => void
}

type WriteToStream = (packet: unknown, stream: unknown, opts?: { protocolVersion?: number }) => boolean

const INSTALLED = Symbol.for('edgemq.publishEncoder')

// Streams corked by the encoder, uncorked together once per event-loop turn.
// mqtt-packet uncorks on process.nextTick, but aedes sends every delivery from
// its own setImmediate callback and Node runs the nextTick queue after each
// one, so a subscriber receiving 50 messages in one turn got 50 writev calls
// (writev was 30 % of the broker's CPU in the fan-out profile). Uncorking in a
// setImmediate instead lets every packet a socket gets in one turn leave in
// one writev. The wait is at most one turn of the loop (no timer), and the
// buffered bytes are bounded by what one turn produces.
const corked = new Set<WritableLike>()
let flushScheduled = false

function flushCorked (): void {
  flushScheduled = false
  const streams = [...corked]
  corked.clear()
  for (const s of streams) s.uncork?.()
}

function corkForThisTurn (stream: WritableLike): void {
  if (corked.has(stream)) return
  stream.cork?.()
  corked.add(stream)
  if (!flushScheduled) {
    flushScheduled = true
    setImmediate(flushCorked)
  }
}

/**
 * Routes mqtt-packet's writeToStream through the encoder for MQTT 3.1/3.1.1
 * (aedes's write() calls it for every outgoing packet). Idempotent; returns
 * the encoder in use. Writes stay corked until the end of this turn of the
 * event loop, so all packets one socket gets in a turn leave in one writev.
 */
export function installPublishEncoder (mqttPacket: { writeToStream: WriteToStream }): PublishEncoder {
  const existing = (mqttPacket.writeToStream as unknown as { [INSTALLED]?: PublishEncoder })[INSTALLED]
  if (existing !== undefined) return existing
  const original = mqttPacket.writeToStream
  const encoder = new PublishEncoder()
  const fast = function writeToStream (packet: unknown, stream: unknown, opts?: { protocolVersion?: number }): boolean {
    const version = opts?.protocolVersion ?? 4
    if (version === 5 || packet === null || typeof packet !== 'object') return original(packet, stream, opts)
    const encoded = encoder.encode(packet as EncodablePacket)
    if (encoded === undefined) return original(packet, stream, opts)
    const out = stream as WritableLike
    if (typeof out.cork === 'function') corkForThisTurn(out)
    if (Buffer.isBuffer(encoded)) return out.write(encoded)
    out.write(encoded[0])
    return out.write(encoded[1])
  }
  Object.defineProperty(fast, INSTALLED, { value: encoder })
  // the other properties of the function (cacheNumbers) stay reachable
  Object.setPrototypeOf(fast, original)
  mqttPacket.writeToStream = fast
  return encoder
}
