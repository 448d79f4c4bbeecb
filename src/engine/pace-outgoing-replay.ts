// Override: the persistence's outgoingStream, which aedes replays on reconnect.
// What aedes does: on CONNECT of a persistent session it pipes
//   persistence.outgoingStream(client) into the socket: every stored message
//   at once, as stored (DUP=0).
// What edgemq does instead: [MQTT-4.4.0-1] [MQTT-3.3.1-1] a PUBLISH re-sent on
//   reconnect carries DUP=1 (a stored entry with a packet id went out before:
//   one is assigned when a message is first written), and each entry waits
//   for a free slot of the client's Receive Maximum [MQTT-3.3.4-7].
// Canary: test/engine/v5-shim-internals.test.ts (outgoingStream returns a
//   Readable with .map, and aedes reads it at reconnect).
import { replaySlot } from './outbound-flow.ts'
import type { AnyPacket, ShimmedClient, V5ShimContext } from './v5-shim-context.ts'

/** Wraps persistence.outgoingStream: DUP on what was sent before, one Receive Maximum slot per entry. */
export function paceOutgoingReplay (ctx: V5ShimContext): void {
  const persistence = ctx.broker.persistence
  const outgoingStream = persistence.outgoingStream.bind(persistence)
  persistence.outgoingStream = (client) => outgoingStream(client).map(async (packet: AnyPacket) => {
    markResend(packet)
    await replaySlot(ctx, client as unknown as ShimmedClient, packet)
    return packet
  })
}

/** DUP=1 on a stored QoS 1/2 PUBLISH that holds a packet id: it went out before (one is given when it is first written). */
export function markResend (packet: AnyPacket): void {
  if (packet.cmd === 'publish' && packet.messageId !== undefined && packet.messageId !== null && packet.qos > 0) packet.dup = true
}
