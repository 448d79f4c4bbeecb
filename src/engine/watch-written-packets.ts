// Override: one look at every packet aedes (and edgemq's shims) write.
// What aedes 2.0.0-beta.1 does: every packet goes out through
//   `mqtt.writeToStream(packet, client.conn, opts)` (lib/write.js), looked up
//   on mqtt-packet's module object at each write.
// What edgemq does instead: that function is wrapped once per process so
//   overrides that must know what was written (an acknowledgement that ends an
//   inbound QoS flow, a PUBREL a PUBCOMP may answer) register an observer here
//   instead of each wrapping it again. Observers see (packet, stream) before
//   the packet is encoded; they must be cheap and must not throw.
// Canary: test/engine/enforce-receive-maximum.test.ts (aedes writes through it).

type WriteToStream = (packet: Record<string, any> & { cmd: string }, stream: unknown, opts?: unknown) => boolean

/** Sees one written packet and the stream it goes to. */
export type WrittenPacketObserver = (packet: Record<string, any> & { cmd: string }, stream: object) => void

const observers: WrittenPacketObserver[] = []
let installed: WriteToStream | undefined

/** Adds an observer of written packets (once per concern: observers live as long as the process). */
export function watchWrittenPackets (mqttPacket: unknown, observer: WrittenPacketObserver): void {
  if (!observers.includes(observer)) observers.push(observer)
  const mod = mqttPacket as { writeToStream: WriteToStream }
  if (installed !== undefined && mod.writeToStream === installed) return
  const original = mod.writeToStream
  const watched: WriteToStream = function writeToStream (packet, stream, opts) {
    for (let i = 0; i < observers.length; i++) observers[i](packet, stream as object)
    return original(packet, stream, opts)
  }
  // keep markers other wrappers put on the function (the publish encoder's "installed")
  for (const key of Object.getOwnPropertySymbols(original)) (watched as unknown as Record<symbol, unknown>)[key] = (original as unknown as Record<symbol, unknown>)[key]
  mod.writeToStream = watched
  installed = watched
}
