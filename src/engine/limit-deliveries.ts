// Override: a client's deliver0 / deliverQoS (the functions aedes's emitter
// calls to send one message to one subscriber).
// What aedes does: sends every delivery at the QoS it finds by looking the
//   client's subscription up by the message's topic (so a wildcard
//   subscription, a/# granted QoS 1, got QoS 2 messages at QoS 2), whatever
//   its size, and with no bound on unacknowledged QoS 1/2 messages.
// What edgemq does instead:
//   - [MQTT-3.8.4-6] [MQTT-3.3.5-1] never above the granted QoS (the highest
//     granted by a matching filter; shared deliveries are already capped);
//   - [MQTT-3.1.2-25] a PUBLISH over the client's Maximum Packet Size is
//     discarded as if delivered;
//   - [MQTT-3.3.4-7] no more than the client's Receive Maximum unacknowledged
//     QoS 1/2 PUBLISH packets; more are held (bounded) until a slot frees;
//   - no deliverQoS delivery to a connection that is closed already (the
//     client is in its close): a persistent session keeps the message queued.
// Canary: test/engine/v5-shim-internals.test.ts (deliver0 and deliverQoS are
//   own functions of each client; subscriptions is keyed by filter).
import { topicMatches } from '../persistence/topic-filter.ts'
import { sendCounted, windowOf } from './outbound-flow.ts'
import { publishWireSize } from './publish-wire-size.ts'
import { SHARED_DELIVERY, type AnyPacket, type Callback, type ClientShim, type ShimmedClient, type V5ShimContext } from './v5-shim-context.ts'

/**
 * Wraps the client's deliver0 and deliverQoS with the granted QoS, its Maximum
 * Packet Size and its Receive Maximum. The two wrappers are the only closures
 * per client (aedes's emitter calls them detached); the rest is shared code.
 */
export function limitDeliveries (ctx: V5ShimContext, client: ShimmedClient, state: ClientShim): void {
  const deliver0 = client.deliver0
  const deliverQoS = client.deliverQoS
  state.deliverQoS = deliverQoS
  client.deliver0 = (packet, cb) => {
    if (tooBig(ctx, client, packet)) { setImmediate(cb); return }
    deliver0(packet, cb)
  }
  client.deliverQoS = (packet, cb) => { deliverLimited(ctx, client, state, deliverQoS, packet, cb) }
}

/** [MQTT-3.1.2-25] whether a PUBLISH is over the client's Maximum Packet Size (then it is discarded as if delivered). */
function tooBig (ctx: V5ShimContext, client: ShimmedClient, packet: AnyPacket): boolean {
  const max = client.version === 5 ? client.maximumPacketSize : undefined
  if (max === undefined || max <= 0) return false
  const big = publishWireSize(packet as unknown as { topic: string, payload: Buffer, qos: number }, 5) > max
  if (big) ctx.counters.oversizeDropped++
  return big
}

function deliverLimited (ctx: V5ShimContext, client: ShimmedClient, state: ClientShim, deliverQoS: ShimmedClient['deliverQoS'], packet: AnyPacket, cb: Callback): void {
  // Not to a connection that is closed already. aedes keeps a client's
  // subscriptions in its emitter until the client's close has run, a few
  // turns after a DISCONNECT destroyed the socket; its deliverQoS then gave
  // the message a packet id and the store recorded it as sent. A message
  // published right after a persistent subscriber left so counted as in
  // flight: drop-oldest, which never drops what was sent, dropped newer queued
  // messages in its place, and the message came back with DUP=1 though it had
  // never left (found by the model-based test, round 6). Skipped here, it
  // stays in the session's queue (aedes queues a message for every persistent
  // subscription before the live deliveries). Canary for `conn.destroyed`:
  // test/engine/connection-check.test.ts.
  if (client.conn.destroyed) { setImmediate(cb); return }
  // [MQTT-3.8.4-6] [MQTT-3.3.5-1] never above the granted QoS: aedes looks the
  // subscription up by the message's topic, so a wildcard subscription
  // (a/# granted QoS 1) got QoS 2 messages at QoS 2. Retained messages sent
  // on SUBSCRIBE took the same path. Shared deliveries are already capped.
  if (packet.qos > 0 && packet[SHARED_DELIVERY] !== true && anyGrantedBelow(client.subscriptions, packet.qos)) {
    const granted = maxGrantedQos(client.subscriptions, packet.topic)
    if (granted >= 0 && granted < packet.qos) packet.qos = granted
  }
  if (packet.qos === 0 || client.version !== 5) { deliverQoS(packet, cb); return }
  if (tooBig(ctx, client, packet)) { setImmediate(cb); return }
  const window = windowOf(ctx, client, state)
  if (!window.hasRoom()) {
    // Held in RAM until a PUBACK/PUBCOMP frees a slot; the callback runs now
    // so one slow client never stalls the broker's fan-out.
    if (!window.hold(packet)) { ctx.counters.flowDropped++; ctx.log?.warn('delivery dropped: client receive maximum reached and its queue is full', { client: client.id ?? undefined, queued: ctx.flowQueueLimit }) }
    setImmediate(cb)
    return
  }
  sendCounted(state, deliverQoS, packet, cb)
}

/**
 * Whether any of the client's subscriptions was granted less than `qos`. When
 * none was, whatever matches grants at least `qos` and the topic need not be
 * matched at all (the usual case: it split the filter and the topic per
 * delivery, 1.5 % of fan-in QoS 1 CPU).
 */
export function anyGrantedBelow (subscriptions: Record<string, unknown>, qos: number): boolean {
  for (const filter in subscriptions) if (((subscriptions[filter] as { qos?: number }).qos ?? 0) < qos) return true
  return false
}

/** The highest QoS granted by the client's subscriptions that match a topic, -1 when none matches. */
export function maxGrantedQos (subscriptions: Record<string, unknown>, topic: string): number {
  let max = -1
  for (const filter in subscriptions) {
    const qos = (subscriptions[filter] as { qos?: number }).qos ?? 0
    if (qos > max && topicMatches(filter, topic)) max = qos
  }
  return max
}
