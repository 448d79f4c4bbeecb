// Override: one look at every packet aedes (and edgemq's shims) write.
// What aedes 2.0.0-beta.1 does: every packet goes out through
//   `mqtt.writeToStream(packet, client.conn, opts)` (lib/write.js), looked up
//   on mqtt-packet's module object at each write.
// What edgemq does instead: that function is wrapped once per process so
//   overrides that must know what was written (an acknowledgement that ends an
//   inbound QoS flow, a PUBREL a PUBCOMP may answer) register an observer here
//   instead of each wrapping it again. Observers see (packet, stream) before
//   the packet is encoded; they must be cheap and must not throw. An observer
//   returns false to keep the packet from being written (the caller is told it
//   was: a connection being closed for it needs nothing more), or a packet to
//   write instead (a copy: aedes shares `properties` objects between the
//   packets of one message, so an observer never mutates what it is given).
// Canary: test/engine/enforce-receive-maximum.test.ts (aedes writes through it).

type WriteToStream = (packet: Record<string, any> & { cmd: string }, stream: unknown, opts?: unknown) => boolean

/** Sees one written packet and the stream it goes to. */
export type WrittenPacketObserver = (packet: Record<string, any> & { cmd: string }, stream: object) => boolean | undefined | void | (Record<string, any> & { cmd: string })

const observers: WrittenPacketObserver[] = []
/** mqtt-packet module objects already wrapped: one wrapper per process, whatever wraps it after (a second broker in one process, other wrappers). */
const wrapped = new WeakSet<object>()

/** Adds an observer of written packets (once per concern: observers live as long as the process). */
export function watchWrittenPackets (mqttPacket: unknown, observer: WrittenPacketObserver): void {
  if (!observers.includes(observer)) observers.push(observer)
  const mod = mqttPacket as { writeToStream: WriteToStream }
  if (wrapped.has(mod)) return
  wrapped.add(mod)
  const original = mod.writeToStream
  const watched: WriteToStream = function writeToStream (packet, stream, opts) {
    let out = packet
    for (let i = 0; i < observers.length; i++) {
      const r = observers[i](out, stream as object)
      if (r === false) return true
      if (typeof r === 'object' && r !== null) out = r
    }
    return original(out, stream, opts)
  }
  // markers other wrappers hang on the function they installed (the publish
  // encoder's, the refusal codes') stay visible through the prototype chain
  Object.setPrototypeOf(watched, original)
  mod.writeToStream = watched
}
