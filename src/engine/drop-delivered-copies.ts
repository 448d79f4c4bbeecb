// Override: the write of a QoS 1/2 PUBLISH the persistence marked as a copy of
// a message the client already has.
// What aedes 2.0.0-beta.1 does: deliverQoS gives every live delivery a new
//   packet id, awaits persistence.outgoingUpdate and writes the PUBLISH,
//   whatever outgoingUpdate found. When a persistent client reconnects, a
//   message published during its reconnect reaches it twice: in the queue
//   replay (it was queued before the replay read the queue) and live (its
//   subscription was restored first). The persistence could only make the
//   live copy a DUP resend of the replay's packet id, which a receiver that
//   has already completed that QoS 2 flow takes as a new message
//   [MQTT-4.3.3-9]: one QoS 2 message reached an MQTT.js application twice in
//   a 1,000-cycle kill -9 soak, and a reconnect during a burst closed the
//   subscriber ('no such packet') when the replay's copy was already
//   acknowledged.
// What edgemq does instead: outgoingUpdate marks such a copy
//   (src/persistence/outgoing-store.ts ALREADY_DELIVERED) and it is not
//   written; aedes's write callback runs as for a written packet. An MQTT 5
//   client's Receive Maximum slot that aedes's send took is given back.
// Canary: test/engine/drop-delivered-copies.test.ts (aedes writes a
//   deliverQoS PUBLISH through mqtt-packet's writeToStream, the object it gave
//   outgoingUpdate, after outgoingUpdate resolved).
import { ALREADY_DELIVERED } from '../persistence/outgoing-store.ts'
import { watchWrittenPackets } from './watch-written-packets.ts'

/** What to do when a copy to this connection was dropped (free a flow-control slot). */
const onDropped = new WeakMap<object, (conn: object) => void>()

/** Copies dropped since the process started. */
export const droppedCopies = { count: 0 }

/** Installs the override (once per process is enough; idempotent). */
export function installDropDeliveredCopies (mqttPacket: unknown): void {
  watchWrittenPackets(mqttPacket, dropDeliveredCopy)
}

/** Registers what frees a slot of this connection's outbound window when one of its copies is dropped. */
export function noteDroppedCopyRelease (conn: object, release: (conn: object) => void): void {
  onDropped.set(conn, release)
}

function dropDeliveredCopy (packet: Record<string, any> & { cmd: string }, stream: object): boolean {
  if (packet.cmd !== 'publish' || (packet as { [ALREADY_DELIVERED]?: boolean })[ALREADY_DELIVERED] !== true) return true
  droppedCopies.count++
  const release = onDropped.get(stream)
  if (release !== undefined) setImmediate(release, stream)
  return false
}
