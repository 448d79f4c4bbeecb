// Override: SUBSCRIBE and UNSUBSCRIBE packets naming a shared subscription
// ($share/<group>/<filter>), taken out of aedes's handling by guard-parser.ts.
// What aedes does: refuses them (0x9E, shared subscriptions not supported),
//   and its CONNACK says they are not available.
// What edgemq does instead: one emitter subscription per (group, filter)
//   delivers each message to one member, round-robin
//   (src/protocol/shared-subscriptions.ts) [MQTT-4.8.2]; the SUBACK/UNSUBACK
//   of a packet mixing shared and plain filters is written here, the plain
//   filters going through aedes's own client.subscribe/unsubscribe. No
//   retained messages are sent for a shared subscription; No Local on one is
//   a Protocol Error [MQTT-3.8.3-4].
// Canary: test/engine/v5-shim-internals.test.ts (broker.subscribe and
//   unsubscribe with a delivery function, client.subscribe/unsubscribe with a
//   packet, authorizeSubscribe, persistence.removeSubscriptions).
import { isSharedFilter, parseSharedFilter, SharedSubscriptions, type ShareMember, type SharedFilter } from '../protocol/shared-subscriptions.ts'
import { REASON, SUBACK_FAILURE_V3 } from '../reason-codes.ts'
import { refusalCodeOf } from './refusal-reason-codes.ts'
import { deliverToOneMember, FORWARD_REFUSED } from './shared-member-delivery.ts'
import { SHARED_DELIVERY, type AnyPacket, type SharedSubscriptionServer, type ShimmedClient, type V5ShimContext } from './v5-shim-context.ts'
import { writePacket } from './write-packet.ts'


/** Whether a SUBSCRIBE or UNSUBSCRIBE names a shared subscription. */
export function namesSharedFilter (packet: AnyPacket): boolean {
  return (packet.cmd === 'subscribe' && packet.subscriptions?.some((s: AnyPacket) => isSharedFilter(s.topic)) === true) ||
    (packet.cmd === 'unsubscribe' && packet.unsubscriptions?.some((t: string) => isSharedFilter(t)) === true)
}

/** Serves shared subscriptions on the broker of `ctx`. */
export function serveSharedSubscriptions (ctx: V5ShimContext): SharedSubscriptionServer {
  const broker = ctx.broker
  const log = ctx.log
  const shared = new SharedSubscriptions<ShimmedClient>()
  const groupFns = new Map<string, (packet: AnyPacket, cb: () => void) => void>()
  const groupName = (s: SharedFilter): string => `${s.group}\u0000${s.filter}`

  function deliverToGroup (s: SharedFilter): (packet: AnyPacket, cb: () => void) => void {
    const blockSys = s.filter.startsWith('+') || s.filter.startsWith('#') // [MQTT-4.7.2-1]
    return function deliverShared (packet, cb) {
      if (blockSys && packet.topic.startsWith('$')) { cb(); return }
      // connackSent, not connected: aedes sets `connected` only after its queue replay, and a
      // member that already has its SUBACK must get its turn. Members the ACL would refuse
      // for this topic are skipped, and a refused hand-off goes to the next member
      // (src/engine/shared-member-delivery.ts): no message is lost to whom the turn fell on.
      const usable = (m: ShareMember<ShimmedClient>, tried: ReadonlySet<ShareMember<ShimmedClient>>): boolean =>
        m.client.connackSent && !m.client.closed && !tried.has(m) && ctx.mayReceive(m.client, packet.topic)
      deliverToOneMember<ShareMember<ShimmedClient>>((tried) => shared.pick(s, (m) => usable(m, tried)), (member, written) => handOff(member, packet, written), cb)
    }
  }

  /** The member's copy of a shared message, handed to aedes; returns the copy. */
  function handOff (member: ShareMember<ShimmedClient>, packet: AnyPacket, written: () => void): AnyPacket {
    const out: AnyPacket = {
      cmd: 'publish',
      topic: packet.topic,
      payload: packet.payload,
      qos: Math.min(packet.qos ?? 0, member.qos),
      retain: member.rap ? packet.retain === true : false, // [MQTT-3.3.1-12]
      dup: false,
      // Not deduplicated against the client's other subscriptions: a shared and
      // a non-shared match are two subscriptions, each gets its copy.
      brokerId: null,
      brokerCounter: packet.brokerCounter,
      [SHARED_DELIVERY]: true,
      properties: member.subscriptionIdentifier === undefined ? packet.properties : { ...packet.properties, subscriptionIdentifier: member.subscriptionIdentifier }
    }
    if (out.properties === undefined) delete out.properties
    if (packet.messageExpiry !== undefined) out.messageExpiry = packet.messageExpiry
    // A member whose session outlives its connection: aedes looks the copy up in
    // that session's queue (outgoingUpdate) and closed the member ("no such packet")
    // when it was not there. Queued under its own counter key (not the one a
    // non-shared match of the same client queues under), so an unacknowledged
    // QoS 1/2 copy is also resent to that member when it reconnects [MQTT-4.8.2-4].
    const queued = out.qos > 0 && member.client.clean === false && member.client.id !== null && packet.brokerId
    if (queued) out.brokerId = `${String(packet.brokerId)}/$share`
    if (out.qos > 0) member.client.deliverQoS(out, () => { written() })
    else member.client.deliver0(out, () => { written() })
    if (queued && out[FORWARD_REFUSED] !== true) {
      broker.persistence.outgoingEnqueue({ clientId: member.client.id as string }, out).catch((err: Error) => { log?.error('shared message not queued', { client: member.client.id ?? undefined, error: err.message }) })
    }
    return out
  }

  async function join (s: SharedFilter, member: ShareMember<ShimmedClient>): Promise<void> {
    if (shared.add(s, member)) {
      const fn = deliverToGroup(s)
      groupFns.set(groupName(s), fn)
      await new Promise<void>((resolve) => broker.subscribe(s.filter, fn, resolve))
    }
  }

  async function leave (client: ShimmedClient, s: SharedFilter): Promise<boolean> {
    const result = shared.remove(s, client)
    if (result === 'group-empty') {
      const fn = groupFns.get(groupName(s))
      groupFns.delete(groupName(s))
      if (fn !== undefined) await new Promise<void>((resolve) => broker.unsubscribe(s.filter, fn, resolve))
    }
    return result !== 'absent'
  }

  async function subscribe (client: ShimmedClient, packet: AnyPacket): Promise<void> {
    const v5 = client.version === 5
    const entries = packet.subscriptions as AnyPacket[]
    const granted: number[] = new Array(entries.length).fill(v5 ? REASON.TOPIC_FILTER_INVALID : SUBACK_FAILURE_V3)
    const plain: Array<{ index: number, sub: AnyPacket }> = []
    const subscriptionIdentifier = packet.properties?.subscriptionIdentifier as number | undefined
    for (let i = 0; i < entries.length; i++) {
      const sub = entries[i]
      if (!isSharedFilter(sub.topic)) { plain.push({ index: i, sub }); continue }
      const parsed = parseSharedFilter(sub.topic)
      if (typeof parsed === 'string') { log?.info('subscription refused', { client: client.id ?? undefined, filter: sub.topic, reason: parsed }); continue }
      if (v5 && sub.nl === true) {
        // [MQTT-3.8.3-4] No Local on a shared subscription is a Protocol Error.
        client.disconnect({ reasonCode: REASON.PROTOCOL_ERROR, properties: { reasonString: 'no local is not allowed on a shared subscription' } })
        return
      }
      const asked: AnyPacket = { cmd: 'subscribe', topic: parsed.filter, qos: sub.qos }
      const authorized = await new Promise<AnyPacket | null>((resolve) => {
        broker.authorizeSubscribe(client, asked, (err, result) => resolve(err === null && result !== null ? result : null))
      })
      // v5: the hooks' own code (0x97 for a quota), Not authorized otherwise (src/engine/refusal-reason-codes.ts).
      if (authorized === null) { granted[i] = v5 ? refusalCodeOf(asked) ?? REASON.NOT_AUTHORIZED : SUBACK_FAILURE_V3; continue }
      const qos = Math.min(authorized.qos ?? sub.qos, 2) as 0 | 1 | 2
      await join(parsed, { client, qos, rap: sub.rap === true, subscriptionIdentifier })
      granted[i] = qos
      // [MQTT-4.8.2] retained messages are not sent for a shared subscription.
    }
    if (plain.length > 0) {
      const subs = plain.map((p) => ({ ...p.sub }))
      await new Promise<void>((resolve, reject) => {
        client.subscribe({ subscriptions: subs, ...(packet.properties === undefined ? {} : { properties: packet.properties }) }, (err) => { if (err) reject(err); else resolve() })
      })
      const byTopic = new Map(subs.map((s) => [s.topic, s.qos as number]))
      for (const p of plain) granted[p.index] = byTopic.get(p.sub.topic) ?? granted[p.index]
    }
    if (client.closed) return
    writePacket(client, { cmd: 'suback', messageId: packet.messageId, granted }) // [MQTT-3.8.4-1]
  }

  async function unsubscribe (client: ShimmedClient, packet: AnyPacket): Promise<void> {
    const topics = packet.unsubscriptions as string[]
    const codes: number[] = new Array(topics.length).fill(REASON.SUCCESS)
    const plain: string[] = []
    for (let i = 0; i < topics.length; i++) {
      const parsed = parseSharedFilter(topics[i])
      if (typeof parsed === 'string') {
        if (isSharedFilter(topics[i])) codes[i] = REASON.TOPIC_FILTER_INVALID
        else { plain.push(topics[i]); codes[i] = client.subscriptions[topics[i]] !== undefined ? REASON.SUCCESS : REASON.NO_SUBSCRIPTION_EXISTED }
        continue
      }
      codes[i] = (await leave(client, parsed)) ? REASON.SUCCESS : REASON.NO_SUBSCRIPTION_EXISTED
    }
    if (plain.length > 0) {
      // Without a packet id aedes neither answers nor updates the stored session, so the store is updated here.
      if (!client.clean) await broker.persistence.removeSubscriptions(client, plain)
      await new Promise<void>((resolve, reject) => client.unsubscribe({ unsubscriptions: plain }, (err) => { if (err) reject(err); else resolve() }))
    }
    if (client.closed) return
    writePacket(client, { cmd: 'unsuback', messageId: packet.messageId, granted: codes }) // [MQTT-3.10.4-4]
  }

  return {
    subscribe,
    unsubscribe,
    leaveAll: (client) => { for (const s of shared.membershipsOf(client)) void leave(client, s) },
    size: () => shared.size
  }
}
