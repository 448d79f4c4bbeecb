// The aedes-facing glue that closes aedes 2.0.0-beta.1's MQTT 5 gaps without
// forking it (part of the composition root with src/broker.ts; the only other
// file that touches aedes internals). What it adds, each measured missing in
// test/e2e/conformance-v5-gaps.test.ts:
//  - a guard around packet handling: a malformed v5 property (a Response Topic
//    without its string) made aedes throw inside the socket's 'readable'
//    handler and killed the process; now only that connection closes (0x81);
//  - shared subscriptions ($share/<group>/<filter>, round-robin per group);
//  - outbound flow control: no more than the client's Receive Maximum
//    unacknowledged QoS 1/2 PUBLISH packets [MQTT-3.3.4-7];
//  - the client's Maximum Packet Size on delivery [MQTT-3.1.2-24];
//  - a CONNACK that says shared subscriptions are available.
// The logic lives in plain modules beside this file; this file only hooks it in.
import mqttPacket from 'mqtt-packet'
import type { EventEmitter } from 'node:events'
import type { Duplex, Readable } from 'node:stream'
import type { Logger } from '../observability/logger.ts'
import { OutboundWindow } from './outbound-window.ts'
import { isSharedFilter, parseSharedFilter, SharedSubscriptions, type ShareMember, type SharedFilter } from './shared-subscriptions.ts'
import { checkPacketProperties, checkPacketStrings, publishWireSize, reasonCodeOfProblem } from './v5-packet-checks.ts'
import { topicMatches } from '../persistence/topic-filter.ts'
import { disableCounterDedupe } from '../persistence/delivery-order.ts'
import { deliverToOneMember, markForwardResult } from '../engine/shared-member-delivery.ts'
import { refusalCodeOf } from '../engine/refusal-reason-codes.ts'

/** Options of installV5Shims. */
export interface V5ShimOptions {
  logger?: Logger
  /** Most messages held per connection while its Receive Maximum is used up; past it new ones are dropped. */
  flowQueueLimit?: number
  /** Called when a connection is closed for a malformed packet (for counters). */
  onMalformed?: (info: { clientId: string | null, reason: string }) => void
  /** Whether a client may receive a message on a topic (the ACL, no side effects): shared-subscription picks skip members it refuses. */
  mayReceive?: (client: unknown, topic: string) => boolean
}

/** What the shims report. */
export interface V5Shims {
  stats: () => { sharedGroups: number, malformedClosed: number, oversizeDropped: number, flowDropped: number }
}

type Callback = (err?: Error | null) => void
type AnyPacket = Record<string | symbol, any> & { cmd: string }

/** The parts of an aedes Client the shims use (aedes 2.0.0-beta.1 internals). */
interface AedesClient extends EventEmitter {
  id: string | null
  version: number | null
  clean: boolean
  connected: boolean
  connackSent: boolean
  closed: boolean
  errored: boolean
  _cleanStart?: boolean
  conn: Duplex
  receiveMaximum?: number
  maximumPacketSize?: number
  subscriptions: Record<string, unknown>
  _parser: EventEmitter
  _parsingBatch: number
  _nextBatch: (err?: Error | null) => void
  _wireVersion: number | null
  deliver0: (packet: AnyPacket, cb: Callback) => void
  deliverQoS: (packet: AnyPacket, cb: Callback) => void
  subscribe: (packet: { subscriptions: AnyPacket[], properties?: unknown }, done: Callback) => void
  unsubscribe: (packet: { unsubscriptions: string[] }, done: Callback) => void
  disconnect: (opts: { reasonCode: number, properties?: Record<string, unknown> }, done?: () => void) => void
  pause: () => void
  close: (done?: () => void) => void
  rejectPacketTooLarge: (size: number, done?: () => void) => void
  _rejectingPacketTooLarge: boolean
  broker: EventEmitter
}

/** The parts of the Aedes instance the shims use. */
interface AedesInternals {
  handle: (conn: Duplex, req: unknown) => AedesClient
  subscribe: (topic: string, fn: (packet: AnyPacket, cb: () => void) => void, done: () => void) => void
  unsubscribe: (topic: string, fn: (packet: AnyPacket, cb: () => void) => void, done: () => void) => void
  authorizeSubscribe: (client: AedesClient, sub: AnyPacket, done: (err: Error | null, sub: AnyPacket | null) => void) => void
  authorizeForward: (client: AedesClient, packet: AnyPacket) => AnyPacket | null | undefined
  authenticate: (client: AedesClient, username: unknown, password: unknown, done: (...args: unknown[]) => void) => void
  persistence: {
    removeSubscriptions: (client: AedesClient, topics: string[]) => Promise<unknown>
    outgoingStream: (client: { id: string }) => Readable
    createRetainedStreamCombi: (patterns: string[]) => Readable
  }
}

interface ClientShim {
  window?: OutboundWindow<AnyPacket>
  /** Sends one held message through aedes's own deliverQoS, counted in the window. */
  send?: (packet: AnyPacket) => void
  /** Stored-queue replays waiting for a free slot. */
  slotWaiters?: Array<() => void>
  /** Set by the authorizeForward wrapper while aedes decides whether a delivery goes out. */
  forwarded: boolean
}

const SHIM = Symbol('edgemq.v5shim')
/** Marks a packet built for one shared-subscription member (its QoS is already capped). */
const SHARED_DELIVERY = Symbol('edgemq.shared')
type ShimmedClient = AedesClient & { [SHIM]?: ClientShim }

const REASON_MALFORMED = 0x81
const REASON_PROTOCOL_ERROR = 0x82
const REASON_PACKET_TOO_LARGE = 0x95
const REASON_TOPIC_NAME_INVALID = 0x90
const REASON_TOPIC_FILTER_INVALID = 0x8F
const REASON_NO_SUBSCRIPTION_EXISTED = 0x11
const SUBACK_FAILURE_V4 = 0x80

/** Installs the MQTT 5 shims on an aedes instance; call once, before the first connection. */
export function installV5Shims (aedes: unknown, options: V5ShimOptions = {}): V5Shims {
  const broker = aedes as AedesInternals
  const log = options.logger
  const flowQueueLimit = options.flowQueueLimit ?? 1000
  const shared = new SharedSubscriptions<ShimmedClient>()
  const groupFns = new Map<string, (packet: AnyPacket, cb: () => void) => void>()
  const mayReceive = options.mayReceive ?? (() => true)
  const counters = { malformedClosed: 0, oversizeDropped: 0, flowDropped: 0 }

  // aedes calls authorizeForward synchronously inside deliverQoS once the
  // no-local and dedupe checks passed: the one place that knows a QoS 1/2
  // PUBLISH is really going out, which the send window must count.
  const authorizeForward = broker.authorizeForward.bind(broker)
  broker.authorizeForward = (client: ShimmedClient, packet: AnyPacket) => {
    const result = authorizeForward(client, packet)
    if (packet[SHARED_DELIVERY] === true) markForwardResult(packet, result)
    const state = client[SHIM]
    if (state !== undefined) state.forwarded = result !== null && result !== undefined
    return result
  }

  // [MQTT-4.4.0-1] [MQTT-3.3.1-1] a PUBLISH re-sent on reconnect carries DUP=1.
  // What aedes replays from the outgoing store went out before when it already
  // has a packet id (one is assigned when a message is first written); aedes
  // re-sends it as stored, DUP=0.
  const persistence = broker.persistence
  const outgoingStream = persistence.outgoingStream.bind(persistence)
  // The replay also keeps to the client's Receive Maximum [MQTT-3.3.4-7]: aedes
  // writes the whole stored queue at once, so each entry waits for a free slot.
  persistence.outgoingStream = (client) => outgoingStream(client).map(async (packet: AnyPacket) => {
    if (packet.cmd === 'publish' && packet.messageId !== undefined && packet.messageId !== null && packet.qos > 0) packet.dup = true
    await replaySlot(client as unknown as ShimmedClient, packet)
    return packet
  })
  // [MQTT-4.7.2-1] a filter starting with + or # never matches a $ topic, and
  // that includes the retained messages sent on SUBSCRIBE (aedes-persistence's
  // matcher lets `#` see retained $SYS values).
  const retainedStream = persistence.createRetainedStreamCombi.bind(persistence)
  persistence.createRetainedStreamCombi = (patterns) => retainedStream(patterns).filter((packet: AnyPacket) =>
    typeof packet.topic !== 'string' || packet.topic[0] !== '$' || patterns.some((p) => topicMatches(p, packet.topic)))

  // [MQTT-3.1.2-5] Clean Start 0 resumes the stored session even when the new
  // Session Expiry Interval is 0 (the session then ends with this connection).
  // aedes marks such a client `clean` before replaying its queue and drops every
  // queued message. `clean` stays false until the replay is done.
  const authenticate = broker.authenticate.bind(broker)
  broker.authenticate = (client, username, password, done) => {
    if (client.version === 5 && client._cleanStart === false && client.clean) {
      client.clean = false
      client.once('connected', () => { client.clean = true })
    }
    authenticate(client, username, password, done)
  }

  const closeMalformed = (client: ShimmedClient, reason: string): void => {
    counters.malformedClosed++
    options.onMalformed?.({ clientId: client.id, reason })
    log?.info('connection closed: malformed packet', { client: client.id ?? undefined, reason })
    client.pause() // stop parsing what follows a broken packet
    if (client.version === 5 && client.connackSent && !client.closed) {
      client.disconnect({ reasonCode: reasonCodeOfProblem(reason) })
    } else {
      client.emit('error', new Error(reason))
    }
  }

  const originalHandle = broker.handle
  broker.handle = function handle (conn: Duplex, req: unknown): AedesClient {
    const client = originalHandle.call(this, conn, req) as ShimmedClient
    // [MQTT-4.3.2] a QoS 1 message overtaken by a later one (async store) was
    // dropped by aedes's counter dedupe: 4 of 40 in conformance runs here.
    // See src/persistence/delivery-order.ts; calling it again from preConnect is harmless.
    disableCounterDedupe(client)
    const state: ClientShim = { forwarded: false }
    client[SHIM] = state
    guardParser(client, state)
    wrapDelivery(client, state)
    rewriteConnack(client)
    conn.once('close', () => {
      leaveAllGroups(client)
      releaseHeld(client, state)
      for (const wake of state.slotWaiters?.splice(0) ?? []) wake() // the replay ends instead of hanging
    })
    flushBeforeClose(conn)
    sendDisconnectEarly(client)
    return client
  }

  function guardParser (client: ShimmedClient, state: ClientShim): void {
    const parser = client._parser
    const listeners = parser.listeners('packet') as Array<(packet: AnyPacket) => void>
    parser.removeAllListeners('packet')
    parser.on('packet', function onPacket (this: unknown, packet: AnyPacket) {
      try {
        const problem = checkPacketProperties(packet) ?? checkPacketStrings(packet)
        if (problem !== undefined) { closeMalformed(client, problem); return }
        if (packet.cmd === 'publish' && client.version === 5 && typeof packet.topic === 'string' && (packet.topic.includes('+') || packet.topic.includes('#'))) {
          // [MQTT-3.3.2-2] a wildcard in a topic name: v5 hears 0x90 before the close
          // (aedes closed it bare); v3 clients keep aedes's plain close.
          log?.info('connection closed: wildcard in a topic name', { client: client.id ?? undefined })
          client.pause()
          client.disconnect({ reasonCode: REASON_TOPIC_NAME_INVALID })
          return
        }
        if (packet.cmd === 'puback' || packet.cmd === 'pubcomp' || (packet.cmd === 'pubrec' && (packet.reasonCode ?? 0) >= 0x80)) {
          afterAck(state)
        }
        if ((packet.cmd === 'subscribe' && packet.subscriptions?.some((s: AnyPacket) => isSharedFilter(s.topic))) ||
            (packet.cmd === 'unsubscribe' && packet.unsubscriptions?.some((t: string) => isSharedFilter(t)))) {
          client._parsingBatch++
          const run = (): void => {
            const step = packet.cmd === 'subscribe' ? subscribeWithShares : unsubscribeWithShares
            step(client, packet).then(() => client._nextBatch(), (err: Error) => client._nextBatch(err))
          }
          if (client.connackSent) run()
          else client.once('connected', run)
          return
        }
        for (const l of listeners) l.call(this, packet)
      } catch (err) {
        // aedes threw while handling one packet: that connection ends, the process lives.
        closeMalformed(client, `packet handling failed: ${(err as Error).message}`)
      }
    })
    // A parse error from a connected v5 client gets 0x81 before the close [MQTT-4.13.1-1].
    const errorListeners = parser.listeners('error') as Array<(err: Error) => void>
    parser.removeAllListeners('error')
    parser.on('error', (err: Error) => {
      if (client.version === 5 && client.connackSent && !client.closed) closeMalformed(client, err.message)
      else for (const l of errorListeners) l(err)
    })
  }

  function wrapDelivery (client: ShimmedClient, state: ClientShim): void {
    const deliver0 = client.deliver0
    const deliverQoS = client.deliverQoS
    const tooBig = (packet: AnyPacket): boolean => {
      const max = client.version === 5 ? client.maximumPacketSize : undefined
      if (max === undefined || max <= 0) return false
      // [MQTT-3.1.2-25] a PUBLISH over the client's limit is discarded as if delivered.
      const big = publishWireSize(packet as unknown as { topic: string, payload: Buffer, qos: number }, 5) > max
      if (big) counters.oversizeDropped++
      return big
    }
    client.deliver0 = (packet, cb) => {
      if (tooBig(packet)) { setImmediate(cb); return }
      deliver0(packet, cb)
    }
    client.deliverQoS = (packet, cb) => {
      // [MQTT-3.8.4-6] [MQTT-3.3.5-1] never above the granted QoS: aedes looks the
      // subscription up by the message's topic, so a wildcard subscription
      // (a/# granted QoS 1) got QoS 2 messages at QoS 2. Retained messages sent
      // on SUBSCRIBE took the same path. Shared deliveries are already capped.
      if (packet.qos > 0 && packet[SHARED_DELIVERY] !== true) {
        const granted = maxGrantedQos(client.subscriptions, packet.topic)
        if (granted >= 0 && granted < packet.qos) packet.qos = granted
      }
      if (packet.qos === 0 || client.version !== 5) { deliverQoS(packet, cb); return }
      if (tooBig(packet)) { setImmediate(cb); return }
      state.window ??= new OutboundWindow(client.receiveMaximum ?? 65_535, flowQueueLimit)
      if (!state.window.hasRoom()) {
        // Held in RAM until a PUBACK/PUBCOMP frees a slot; the callback runs now
        // so one slow client never stalls the broker's fan-out.
        if (!state.window.hold(packet)) { counters.flowDropped++; log?.warn('delivery dropped: client receive maximum reached and its queue is full', { client: client.id ?? undefined, queued: flowQueueLimit }) }
        setImmediate(cb)
        return
      }
      sendCounted(state, deliverQoS, packet, cb)
    }
    state.send = (packet) => { sendCounted(state, deliverQoS, packet, noop) }
  }

  function sendCounted (state: ClientShim, deliverQoS: AedesClient['deliverQoS'], packet: AnyPacket, cb: Callback): void {
    state.forwarded = false
    deliverQoS(packet, cb)
    if (state.forwarded) state.window?.sent()
    state.forwarded = false
  }

  async function replaySlot (client: ShimmedClient, packet: AnyPacket): Promise<void> {
    const state = client[SHIM]
    if (state === undefined || client.version !== 5 || client.closed) return
    // What aedes will drop instead of sending takes no slot (emptyQueueFilter).
    if (client.clean || client._cleanStart === true) return
    if (packet.cmd === 'publish' && (packet.qos ?? 0) === 0) return
    if (typeof packet.messageExpiry === 'number' && packet.messageExpiry <= Date.now()) return
    state.window ??= new OutboundWindow(client.receiveMaximum ?? 65_535, flowQueueLimit)
    while (state.window.inflight >= state.window.max && !client.closed) {
      await new Promise<void>((resolve) => { (state.slotWaiters ??= []).push(resolve) })
    }
    state.window.sent()
  }

  function afterAck (state: ClientShim): void {
    const window = state.window
    if (window === undefined) return
    window.acknowledged()
    // A replay waiting for a slot goes before messages held during the session.
    const waiter = state.slotWaiters?.shift()
    if (waiter !== undefined) { waiter(); return }
    for (let next = window.takeNext(); next !== undefined; next = window.takeNext()) {
      // MQTT 5.0 §3.3.2.3.3: a message that expired while held is not sent.
      if (typeof next.messageExpiry === 'number' && next.messageExpiry <= Date.now()) continue
      state.send?.(next)
      if (window.inflight >= window.max) break
    }
  }

  // aedes sets `connected` only after it has replayed the stored queue, which
  // follows the CONNACK; a packet that earns a DISCONNECT in that window (the
  // client may send right after CONNACK) got a bare close with no reason code.
  function sendDisconnectEarly (client: ShimmedClient): void {
    const reject = client.rejectPacketTooLarge.bind(client)
    client.rejectPacketTooLarge = (size, done) => {
      if (!client._rejectingPacketTooLarge && client.version === 5 && client.connackSent && !client.connected && !client.closed && !client.errored) {
        client._rejectingPacketTooLarge = true
        client.broker.emit('clientError', client, Object.assign(new Error('packet too large'), { size }))
        client.disconnect({ reasonCode: REASON_PACKET_TOO_LARGE }, done) // [MQTT-3.2.2-15]
        return
      }
      reject(size, done)
    }
    const disconnect = client.disconnect.bind(client)
    client.disconnect = (opts, done) => {
      if (client.version === 5 && client.connackSent && !client.connected && !client.closed && !client.errored) {
        writePacket(client, { cmd: 'disconnect', reasonCode: opts.reasonCode, ...(opts.properties === undefined ? {} : { properties: opts.properties }) })
        client.close(done)
        return
      }
      disconnect(opts, done)
    }
  }

  function releaseHeld (client: ShimmedClient, state: ClientShim): void {
    const held = state.window?.drain() ?? []
    if (held.length > 0) log?.debug('held deliveries dropped with the connection', { client: client.id ?? undefined, count: held.length })
  }

  // A v5 CONNACK from aedes always says sharedSubscriptionAvailable=false
  // [MQTT-3.2.2-13 wording in aedes]; edgemq provides them, so the first packet
  // written on a v5 connection is re-encoded without that property (absent = available).
  function rewriteConnack (client: ShimmedClient): void {
    const conn = client.conn as Duplex & { write: (...args: unknown[]) => boolean }
    const originalWrite = conn.write
    const chunks: Buffer[] = []
    let parser: ReturnType<typeof mqttPacket.parser> | undefined
    const restore = (): void => { conn.write = originalWrite }
    conn.write = function write (this: Duplex, chunk: unknown, ...rest: unknown[]): boolean {
      if (client.version !== 5 || (!Buffer.isBuffer(chunk) && typeof chunk !== 'string')) {
        restore()
        if (chunks.length > 0) originalWrite.call(this, Buffer.concat(chunks))
        return originalWrite.call(this, chunk, ...rest)
      }
      const cb = rest.find((r) => typeof r === 'function') as Callback | undefined
      // mqtt-packet writes string properties as strings (with an encoding argument)
      const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk, typeof rest[0] === 'string' ? rest[0] as BufferEncoding : 'utf8')
      chunks.push(bytes)
      if (parser === undefined) {
        parser = mqttPacket.parser({ protocolVersion: 5 })
        parser.on('packet', (packet: AnyPacket) => {
          restore()
          if (packet.cmd === 'connack' && packet.properties?.sharedSubscriptionAvailable === false && packet.reasonCode === 0) {
            delete packet.properties.sharedSubscriptionAvailable
            originalWrite.call(conn, mqttPacket.generate(packet as mqttPacket.Packet, { protocolVersion: 5 }))
          } else {
            originalWrite.call(conn, Buffer.concat(chunks))
          }
        })
        parser.on('error', () => { restore(); originalWrite.call(conn, Buffer.concat(chunks)) })
      }
      parser.parse(bytes)
      if (cb !== undefined) setImmediate(cb)
      return true
    }
  }

  // --- shared subscriptions -------------------------------------------------

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
        m.client.connackSent && !m.client.closed && !tried.has(m) && mayReceive(m.client, packet.topic)
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
    if (out.qos > 0) member.client.deliverQoS(out, () => { written() })
    else member.client.deliver0(out, () => { written() })
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

  function leaveAllGroups (client: ShimmedClient): void {
    for (const s of shared.membershipsOf(client)) void leave(client, s)
  }

  async function subscribeWithShares (client: ShimmedClient, packet: AnyPacket): Promise<void> {
    const v5 = client.version === 5
    const entries = packet.subscriptions as AnyPacket[]
    const granted: number[] = new Array(entries.length).fill(v5 ? REASON_TOPIC_FILTER_INVALID : SUBACK_FAILURE_V4)
    const plain: Array<{ index: number, sub: AnyPacket }> = []
    const subscriptionIdentifier = packet.properties?.subscriptionIdentifier as number | undefined
    for (let i = 0; i < entries.length; i++) {
      const sub = entries[i]
      if (!isSharedFilter(sub.topic)) { plain.push({ index: i, sub }); continue }
      const parsed = parseSharedFilter(sub.topic)
      if (typeof parsed === 'string') { log?.info('subscription refused', { client: client.id ?? undefined, filter: sub.topic, reason: parsed }); continue }
      if (v5 && sub.nl === true) {
        // [MQTT-3.8.3-4] No Local on a shared subscription is a Protocol Error.
        client.disconnect({ reasonCode: REASON_PROTOCOL_ERROR, properties: { reasonString: 'no local is not allowed on a shared subscription' } })
        return
      }
      const asked: AnyPacket = { cmd: 'subscribe', topic: parsed.filter, qos: sub.qos }
      const authorized = await new Promise<AnyPacket | null>((resolve) => {
        broker.authorizeSubscribe(client, asked, (err, result) => resolve(err === null && result !== null ? result : null))
      })
      // v5: the hooks' own code (0x97 for a quota), 0x87 otherwise (src/engine/refusal-reason-codes.ts).
      if (authorized === null) { granted[i] = v5 ? refusalCodeOf(asked) ?? 0x87 : SUBACK_FAILURE_V4; continue }
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

  async function unsubscribeWithShares (client: ShimmedClient, packet: AnyPacket): Promise<void> {
    const topics = packet.unsubscriptions as string[]
    const codes: number[] = new Array(topics.length).fill(0)
    const plain: string[] = []
    for (let i = 0; i < topics.length; i++) {
      const parsed = parseSharedFilter(topics[i])
      if (typeof parsed === 'string') {
        if (isSharedFilter(topics[i])) codes[i] = REASON_TOPIC_FILTER_INVALID
        else { plain.push(topics[i]); codes[i] = client.subscriptions[topics[i]] !== undefined ? 0 : REASON_NO_SUBSCRIPTION_EXISTED }
        continue
      }
      codes[i] = (await leave(client, parsed)) ? 0 : REASON_NO_SUBSCRIPTION_EXISTED
    }
    if (plain.length > 0) {
      // Without a packet id aedes neither answers nor updates the stored session, so the store is updated here.
      if (!client.clean) await broker.persistence.removeSubscriptions(client, plain)
      await new Promise<void>((resolve, reject) => client.unsubscribe({ unsubscriptions: plain }, (err) => { if (err) reject(err); else resolve() }))
    }
    if (client.closed) return
    writePacket(client, { cmd: 'unsuback', messageId: packet.messageId, granted: codes }) // [MQTT-3.10.4-4]
  }

  function writePacket (client: ShimmedClient, packet: AnyPacket): void {
    const version = client._wireVersion ?? 4
    mqttPacket.writeToStream(packet as mqttPacket.Packet, client.conn, { protocolVersion: version as 3 | 4 | 5 })
  }

  return {
    stats: () => ({ sharedGroups: shared.size, ...counters })
  }
}

function noop (): void {}

// aedes ends a connection with conn.destroy() one setImmediate after writing a
// server DISCONNECT (0x81, 0x82, 0x8E, 0x94, 0x95 ...); destroy() drops what is
// still buffered, so the client often saw a bare close instead of the reason
// code (measured: 2 of 10 without parts, 8 of 10 with them). A destroy without
// an error now ends the stream (flushing the DISCONNECT) and destroys it once
// flushed, or after FLUSH_TIMEOUT_MS for a peer that does not read.
const FLUSH_TIMEOUT_MS = 2000
function flushBeforeClose (conn: Duplex): void {
  const destroy = conn.destroy.bind(conn)
  conn.destroy = function gracefulDestroy (err?: Error): Duplex {
    if (err !== undefined && err !== null) return destroy(err)
    if (conn.destroyed || conn.writableEnded) return destroy()
    // Keep reading (and discarding) until the peer closes: closing a socket
    // with unread input sends a RST, which can make the peer drop the
    // DISCONNECT it has not read yet (the rest of an oversized PUBLISH).
    conn.removeAllListeners('readable')
    conn.removeAllListeners('data')
    conn.on('data', noop)
    conn.resume()
    conn.end()
    conn.once('end', () => { destroy() })
    setTimeout(() => { destroy() }, FLUSH_TIMEOUT_MS).unref()
    return conn
  }
}

/** The highest QoS granted by the client's subscriptions that match a topic, -1 when none matches. */
function maxGrantedQos (subscriptions: Record<string, unknown>, topic: string): number {
  let max = -1
  for (const filter in subscriptions) {
    const qos = (subscriptions[filter] as { qos?: number }).qos ?? 0
    if (qos > max && topicMatches(filter, topic)) max = qos
  }
  return max
}
