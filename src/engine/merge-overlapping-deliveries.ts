// Override: what a client with overlapping subscriptions receives.
// What aedes 2.0.0-beta.1 does: every subscription registers its own function
//   with the emitter (lib/handlers/subscribe.js addSubs), so a PUBLISH matching
//   TopicA/# and TopicA/+ of one client is delivered once per subscription;
//   aedes's per-client counter dedupe would keep one, but edgemq turns it off
//   (src/persistence/delivery-order.ts: it lost messages overtaken by later
//   ones). Each copy then got the publish QoS capped by the highest granted
//   QoS, so a QoS 2 message arrived as two QoS 2 copies (issue 9).
// What edgemq does instead: one copy per message and client, at
//   min(publish QoS, the highest QoS granted by the matching subscriptions)
//   [MQTT-3.3.5-1] (3.1.1) [MQTT-3.3.4-2] (5.0), carrying the Subscription
//   Identifiers of every matching subscription [MQTT-3.3.4-4]. The copies that
//   follow for the same message (same brokerId and brokerCounter, delivered in
//   the same synchronous emit) are dropped. The persistent queue already holds
//   one entry per client and message (src/persistence/outgoing-store.ts), so
//   one live copy matches what a reconnect would replay.
//   No Local: the copy goes if any matching subscription would deliver it.
//   Retain As Published: the RETAIN flag is the one the first matching
//   subscription produced (live messages carry RETAIN 0 unless it has RAP).
// Deliveries with no brokerId (retained messages sent on SUBSCRIBE, shared
//   subscription deliveries) are one per subscription by design and pass as they are.
// Canary: test/engine/merge-overlapping-deliveries.test.ts.
import { topicMatches } from '../persistence/topic-filter.ts'

type Callback = (err?: Error | null) => void
type Packet = Record<string | symbol, any> & { topic: string, qos: number }
type Deliver = (packet: Packet, cb: Callback) => void

/** A subscription as aedes keeps it in client.subscriptions. */
interface AedesSubscription { qos?: number, nl?: boolean, si?: number }

/** The aedes client members this override reads and wraps. */
interface MergeClient {
  id: string | null
  subscriptions: Record<string, AedesSubscription>
  deliver0: Deliver
  deliverQoS: Deliver
}

/** What one emitted message resolves to for one client. */
export interface MergedDelivery {
  qos: number
  /** Subscription Identifiers of the matching subscriptions, ascending. */
  identifiers: number[]
}

/**
 * The one delivery for a message matching a client's subscriptions: qos -1 when
 * every matching one has No Local and the message is the client's own;
 * undefined when none matches (a message replayed from the stored queue after
 * an unsubscribe: it is delivered as it is).
 */
export function mergeMatches (subscriptions: Record<string, AedesSubscription>, topic: string, publishQos: number, ownMessage: boolean): MergedDelivery | undefined {
  let granted = -1
  let matched = false
  const identifiers: number[] = []
  for (const filter in subscriptions) {
    const sub = subscriptions[filter]
    if (!topicMatches(filter, topic)) continue
    matched = true
    if (ownMessage && sub.nl === true) continue // [MQTT-3.8.3-3]
    const qos = sub.qos ?? 0
    if (qos > granted) granted = qos
    if (sub.si !== undefined) identifiers.push(sub.si)
  }
  if (!matched) return undefined
  if (granted < 0) return { qos: -1, identifiers }
  identifiers.sort((a, b) => a - b)
  return { qos: Math.min(publishQos, granted), identifiers }
}

/** Marks a packet this override has decided on (aedes copies packets per subscription, so it does not travel to the next copy). */
const DECIDED = Symbol('edgemq.merged')

/** Wraps a client's deliver0/deliverQoS (call when the client is created, before it subscribes). */
export function mergeOverlappingDeliveries (client: MergeClient): void {
  const deliver0 = client.deliver0
  const deliverQoS = client.deliverQoS
  // The last message this client got (emitter deliveries of one message run
  // back to back in one synchronous emit, so the last one is enough).
  let lastBroker: string | undefined
  let lastCounter = -1
  const merged = (packet: Packet, cb: Callback, fallback: Deliver): void => {
    const brokerId = packet.brokerId
    // aedes's deliverQoS hands a QoS 0 packet on to client.deliver0: the same
    // packet object again, already decided.
    if (typeof brokerId !== 'string' || packet[DECIDED] === true) { fallback(packet, cb); return }
    packet[DECIDED] = true
    const counter = packet.brokerCounter as number
    if (brokerId === lastBroker && counter === lastCounter) { setImmediate(cb); return }
    lastBroker = brokerId
    lastCounter = counter
    const subs = client.subscriptions
    if (!hasTwo(subs)) { fallback(packet, cb); return }
    const one = mergeMatches(subs, packet.topic, packet.qos ?? 0, packet.clientId !== undefined && packet.clientId === client.id)
    if (one === undefined) { fallback(packet, cb); return }
    if (one.qos < 0) { setImmediate(cb); return }
    packet.qos = one.qos
    if (one.identifiers.length > 0) {
      packet.properties = { ...packet.properties, subscriptionIdentifier: one.identifiers.length === 1 ? one.identifiers[0] : one.identifiers }
    }
    packet.nl = false // the no-local decision is made above, over every matching subscription
    if (one.qos > 0) deliverQoS(packet, cb)
    else deliver0(packet, cb)
  }
  client.deliver0 = (packet, cb) => { merged(packet, cb, deliver0) }
  client.deliverQoS = (packet, cb) => { merged(packet, cb, deliverQoS) }
}

/** Whether a client holds at least two subscriptions (only then can two match). */
function hasTwo (subscriptions: Record<string, unknown>): boolean {
  let count = 0
  for (const _ in subscriptions) if (++count >= 2) return true
  return false
}

/** The aedes instance member this override wraps. */
interface HandleInternals {
  handle: (conn: unknown, req: unknown) => MergeClient
}

/** Installs the override on every client aedes creates (call after installV5Shims, so it wraps the shims' delivery). */
export function installMergeOverlappingDeliveries (aedes: unknown): void {
  const broker = aedes as HandleInternals
  const handle = broker.handle
  broker.handle = function handleMerged (this: unknown, conn: unknown, req: unknown): MergeClient {
    const client = handle.call(this, conn, req)
    mergeOverlappingDeliveries(client)
    return client
  }
}
