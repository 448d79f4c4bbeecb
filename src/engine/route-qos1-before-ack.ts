// Override: aedes's handling of an incoming QoS 1 PUBLISH (lib/handlers/publish.js).
// What aedes 2.0.0-beta.1 does: handle() → handlePublish → runSeries(
//   authorizePublish, enqueuePublish); enqueuePublish writes the PUBACK and,
//   in the write's callback (a setImmediate later), routes the message
//   (broker.publish). Both functions are module-private: no option or method
//   reaches them. edgemq's authorizePublish makes the PUBACK mean "stored"
//   by journaling the message before it calls back (src/persistence/
//   incoming-journal.ts), so a message a persistent session subscribes to
//   was routed only after its journal write had landed: several event-loop
//   turns (the LevelDB thread-pool round trip among them) before routing,
//   and the subscriber's p99 was 19-44x Mosquitto's (docs/performance.md).
// What edgemq does instead, for a QoS 1 PUBLISH of a client whose CONNACK
//   is out: the same checks (handle()'s keepalive refresh, handlePublish's
//   topic alias and topic checks: a packet that fails them goes to aedes's
//   own handler, which refuses it as before), the same authorizePublish
//   decision, then the message is ROUTED AS SOON AS ITS JOURNAL ENTRY IS
//   QUEUED (linked to the packet, in the store's one FIFO write path ahead of
//   whatever the routing writes), and only the PUBACK waits until the entry
//   has landed as durably as persistence.sync promises. The durability
//   promise is unchanged: no PUBACK before the message is on disk (a message
//   only clean sessions receive needs no disk, docs/persistence.md: it is
//   acknowledged as it is routed, as before). A crash before the PUBACK
//   loses nothing the publisher was told: it resends. PUBACKs of one
//   connection are written in the order the PUBLISHes came [MQTT-4.6.0-2],
//   messages routed in that order [MQTT-4.6.0-6]. The packet is done
//   (aedes's per-read count, _parsingBatch) once it is routed and
//   acknowledged, as in aedes.
//   QoS 0 PUBLISHes take the same path (no PUBACK), so a connection's QoS 0
//   and QoS 1 messages are not split over two handlers. Also off the path:
//   handlePublish's runSeries per packet, Aedes#publish's runSeries, its
//   state and bound callback, the setImmediate of aedes's write callback
//   before routing, and for a QoS 1 message no persistent session can
//   receive (Store.routesOffline), the offline-queue step's two promises; for
//   one they can, aedes's series (the offline step runs here, in its order:
//   queued copies landed before the live deliveries).
//   A message stored by its routing instead of journaled (AFTER_ROUTE: its
//   persistent subscribers are all away, issue 11) is routed at once and its
//   PUBACK waits for the routing to end: broker.publish calls back once the
//   store's queue write has landed (Mosquitto's order, the payload written
//   once). A failed write refuses the PUBACK like a failed journal write.
// Canary: test/engine/route-qos1-before-ack.test.ts (the handler, the client
//   and broker members named below, and the parser's enqueue listener).
import mqttPacket from 'mqtt-packet'
import type { Duplex } from 'node:stream'
import type { EventEmitter } from 'node:events'
import { REASON } from '../reason-codes.ts'
import { AedesPacket } from './aedes-packet.ts'
import { addPacketFilter } from './intercept-parsed-packets.ts'

type Done = (err?: Error | null) => void
type AnyPacket = Record<string, any> & { cmd: string }

/** What the PUBACK of an accepted message waits for; undefined: nothing (route and acknowledge now). */
export interface AckWait {
  /** Undefined: the message may be routed now; else once this resolves (its journal entry is then queued). */
  queued: Promise<void> | undefined
  /** The acknowledgement is written once this resolves; a rejection refuses it (the connection closes). */
  landed: Promise<void> | undefined
  /** Route now, acknowledge once the routing has ended (the message is stored by it). */
  afterRoute?: boolean
}

/** The wait of a message stored by its routing (see the header). */
export const AFTER_ROUTE: AckWait = Object.freeze({ queued: undefined, landed: undefined, afterRoute: true })

/** authorizePublish that starts the durable hand-offs and calls back without waiting for them. */
export type AcceptPublish = (client: unknown, packet: AnyPacket, decided: (err?: Error | null, wait?: AckWait) => void) => void

/** The aedes 2.0.0-beta.1 client members this override uses. */
interface Qos1Client extends EventEmitter {
  id: string | null
  version: number | null
  connecting: boolean
  connected: boolean
  connackSent: boolean
  errored: boolean
  conn: Duplex
  _parser: EventEmitter
  _parsingBatch: number
  _nextBatch: Done
  _wireVersion: number | null
  _keepaliveInterval: number
  _keepaliveTimer: { refresh: () => void } | null
  _topicAliases: Map<number, string>
  _requestProblemInformation?: boolean
  waitForDrain: (done: Done) => void
  disconnect: (opts: { reasonCode: number }, done?: () => void) => void
  broker: Qos1Broker
}

/** The aedes 2.0.0-beta.1 instance members this override uses. */
interface Qos1Broker extends EventEmitter {
  id: string
  counter: number
  handle: (conn: Duplex, req: unknown) => Qos1Client
  publish: (packet: AnyPacket, client: unknown, done: Done) => void
  published: (packet: AedesPacket, client: unknown, done: Done) => void
  mq: { emit: (packet: AedesPacket, done: (err?: Error | null) => void) => void }
  persistence: { storeRetained: (packet: AedesPacket) => Promise<void>, outgoingEnqueueCombi: (subs: readonly unknown[], packet: AedesPacket) => Promise<void> }
  maximumPacketSize: number
  maxTopicLevels: number
  topicAliasMaximum: number
}

/**
 * Per connection: the PUBACKs waiting for their writes, in PUBLISH order. A
 * list of turns, not a promise chain: a turn is an object, where the chain
 * made an async frame and three promises per message (issue 11's enqueue
 * profile: a third of the publish path's garbage).
 */
interface AckOrder {
  head: AckTurn | undefined
  tail: AckTurn | undefined
}

/** One acknowledgement waiting for its write; settled once the write has landed (or failed: `failure`). */
interface AckTurn {
  ack: AnyPacket
  done: Done
  settled: boolean
  failure: Error | undefined
  next: AckTurn | undefined
}

const ORDER = Symbol('edgemq.qos1AckOrder')
type OrderedClient = Qos1Client & { [ORDER]?: AckOrder }

// aedes's write.js keeps frozen options per wire version; so do we (no object per write)
const WRITE_OPTS: Record<number, { protocolVersion: number }> = {
  3: Object.freeze({ protocolVersion: 3 }),
  4: Object.freeze({ protocolVersion: 4 }),
  5: Object.freeze({ protocolVersion: 5 })
}

/**
 * Installs the override on an aedes instance: call before installV5Shims and
 * the other parser filters, so it sits right in front of aedes's own
 * 'packet' listener and every edgemq check runs before it.
 */
export function installRouteQos1BeforeAck (aedes: unknown, options: RouteOptions): void {
  addPacketFilter(aedes, (c, packet) => {
    const client = c as unknown as Qos1Client
    const qos = packet.qos
    if (packet.cmd !== 'publish' || (qos !== 1 && qos !== 0) || !client.connackSent || !isPlain(client, packet)) return true
    // aedes's enqueue: one more packet of this read in progress
    client._parsingBatch++
    handleFastPublish(client, packet, options, client._nextBatch)
    return false
  })
}

/** What the override is given. */
export interface RouteOptions {
  accept: AcceptPublish
  /**
   * Whether aedes's offline-queue step has anything to do for a QoS 1
   * message (a persistent subscription matches, or it has a journal entry):
   * when not, it is routed without it. Absent: always.
   */
  routesOffline?: (packet: AnyPacket) => boolean
  /**
   * The persistent subscriptions matching a topic, synchronously (what
   * aedes's subscriptionsByTopic answers through a promise). Given, the
   * offline-queue step of a message routesOffline says has one runs here,
   * in aedes's order (queued copies landed, then the live deliveries),
   * without aedes's series and its two promises per message. Absent: it
   * runs in Aedes#publish.
   */
  offlineSubscriptions?: (topic: string) => readonly unknown[]
}

/**
 * Whether aedes's handle() and handlePublish would pass the packet on to
 * authorizePublish (a packet they refuse goes to aedes, which refuses it).
 */
function isPlain (client: Qos1Client, packet: AnyPacket): boolean {
  if (!client.connecting && !client.connected) return false
  const max = client.broker.maximumPacketSize
  if (max > 0 && wireSize(packet.length) > max) return false
  const topic = packet.topic
  if (typeof topic !== 'string') return false
  // an alias-only topic is resolved below; anything else must be a valid topic name now
  if (topic.length === 0) return client.version === 5 && packet.properties?.topicAlias !== undefined
  if (!isTopicName(topic, client.broker.maxTopicLevels)) return false
  const responseTopic = packet.properties?.responseTopic
  return responseTopic === undefined || (responseTopic.indexOf('#') === -1 && responseTopic.indexOf('+') === -1) // [MQTT-3.3.2-14]
}

function isTopicName (topic: string, maxLevels: number): boolean {
  let levels = 1
  for (let i = 0; i < topic.length; i++) {
    const c = topic.charCodeAt(i)
    if (c === 35 || c === 43) return false // # and + [MQTT-3.3.2-2]
    if (c === 47) levels++
  }
  return levels <= maxLevels
}

/** Handles one QoS 0/1 PUBLISH that passed aedes's checks; `done` once it is routed (and acknowledged). */
function handleFastPublish (client: OrderedClient, packet: AnyPacket, options: RouteOptions, done: Done): void {
  if (client._keepaliveInterval > 0) client._keepaliveTimer?.refresh()
  if (client.version === 5 && packet.properties?.topicAlias !== undefined) {
    const err = resolveTopicAlias(client, packet)
    if (err !== undefined) {
      // as aedes: told with DISCONNECT 0x94 (Topic Alias invalid), which closes the connection
      client.broker.emit('clientError', client, err)
      client.disconnect({ reasonCode: REASON.TOPIC_ALIAS_INVALID }, () => { done() })
      return
    }
    // a topic aedes's path registered may be deeper than allowed: refused as aedes refuses it
    if (!isTopicName(packet.topic, client.broker.maxTopicLevels)) { done(new Error('topic has too many levels')); return }
  }
  options.accept(client, packet, (err, wait) => {
    if (err !== null && err !== undefined) { refuse(client, packet, err, done); return }
    // acknowledged and dropped already (src/engine/drop-denied-publish.ts)
    if (packet._notAuthorized === true) { done(); return }
    const qos1 = packet.qos === 1
    if (!qos1 && wait === undefined) { routePublish(client, packet, options, done); return }
    let open = 2
    let failed = false
    const finish = (e?: Error | null): void => {
      if (failed) return
      if (e !== undefined && e !== null) { failed = true; done(e); return }
      if (--open === 0) done()
    }
    if (wait?.afterRoute === true && qos1) {
      // stored by its routing (the queue write lands before the routing calls
      // back): acknowledged once the routing has ended
      const turn = queueAck(client, { cmd: 'puback', messageId: packet.messageId }, finish)
      // v5: a failed store is answered by its PUBACK (a refusal), the connection kept
      routePublish(client, packet, options, (e) => { settleAck(client, turn, e ?? undefined); finish(client.version === 5 ? null : e) })
      return
    }
    const route = (): void => { routePublish(client, packet, options, finish) }
    if (wait === undefined || wait.queued === undefined) route()
    // a failed journal refuses the PUBACK below (v5: nothing was routed; the refusal ends the packet)
    else wait.queued.then(route, () => { if (client.version === 5) finish() })
    if (qos1) acknowledge(client, { cmd: 'puback', messageId: packet.messageId }, wait?.landed, finish)
    else wait!.landed!.then(() => { finish() }, (e: Error) => { handOffFailed(client, e, finish) }) // a QoS 0 message's hand-off (a bridge queue) still paces the reads
  })
}

/**
 * aedes's Aedes#publish for a message from the wire whose topic is checked
 * already: the same packet copy and steps (retained store, emitter,
 * `published` hook, 'publish' event), with the offline-queue step (a
 * promise from subscriptionsByTopic and one from outgoingEnqueueCombi per
 * QoS 1 message) only when the store says it has something to do, and
 * without runSeries's state, bound callback and closure per message.
 */
function routePublish (client: Qos1Client, packet: AnyPacket, options: RouteOptions, done: Done): void {
  const broker = client.broker
  const offline = packet.qos > 0 && (options.routesOffline === undefined || options.routesOffline(packet))
  // aedes drops `#` and `+` subscriptions from a $SYS topic's offline copies; its own path keeps doing that
  if (offline && (options.offlineSubscriptions === undefined || packet.topic.startsWith('$SYS'))) { broker.publish(packet, client, done); return }
  const p = new AedesPacket(packet, broker)
  // MQTT 5 Message Expiry Interval: aedes records the absolute expiry for queued copies
  if (p.properties !== undefined && p.properties.messageExpiryInterval > 0 && p.messageExpiry === undefined) p.messageExpiry = Date.now() + p.properties.messageExpiryInterval * 1000
  if (p.retain) broker.persistence.storeRetained(p).then(() => { queueOffline(broker, client, p, offline ? options : undefined, done) }, done)
  else queueOffline(broker, client, p, offline ? options : undefined, done)
}

/** aedes's enqueueOffline (when `options`), then the live deliveries: the queued copies land first, as in Aedes#publish. */
function queueOffline (broker: Qos1Broker, client: Qos1Client, p: AedesPacket, options: RouteOptions | undefined, done: Done): void {
  if (options === undefined) { emitRouted(broker, client, p, done); return }
  broker.persistence.outgoingEnqueueCombi(options.offlineSubscriptions!(p.topic), p).then(() => { emitRouted(broker, client, p, done) }, done)
}

function emitRouted (broker: Qos1Broker, client: Qos1Client, p: AedesPacket, done: Done): void {
  p.clientId = client.id
  broker.mq.emit(p, (err?: Error | null) => {
    if (err !== undefined && err !== null) { done(err); return }
    broker.published(p, client, done)
    broker.emit('publish', p, client)
  })
}

/**
 * A refused PUBLISH, as aedes's authorizePublish answers it: a v5 client gets
 * PUBACK 0x87 (src/engine/refusal-reason-codes.ts puts the hook's own code in)
 * with the reason string when it asked for problem information, and keeps the
 * connection; a 3.1.1 client's connection closes.
 */
function refuse (client: OrderedClient, packet: AnyPacket, err: Error, done: Done): void {
  if (client.version !== 5) { done(err); return }
  packet._notAuthorized = true
  client.broker.emit('clientError', client, err)
  if (packet.qos === 0) { done(); return } // nothing to carry a reason code: dropped
  acknowledge(client, refusalOf(client, packet.messageId, err), undefined, () => { done() })
}

/** The v5 PUBACK of a refused PUBLISH: aedes's 0x87, with the error as reason string when the client asked for problem information. */
function refusalOf (client: OrderedClient, messageId: number, err: Error): AnyPacket {
  const ack: AnyPacket = { cmd: 'puback', messageId, reasonCode: REASON.NOT_AUTHORIZED }
  if (err.message.length > 0 && client._requestProblemInformation !== false) ack.properties = { reasonString: err.message }
  return ack
}

/** A QoS 0 message whose hand-off failed: a v5 connection stays (nothing to answer), a 3.1.1 one closes, as aedes does. */
function handOffFailed (client: OrderedClient, err: Error, done: Done): void {
  if (client.version !== 5) { done(err); return }
  client.broker.emit('clientError', client, err)
  done()
}

/** Writes an acknowledgement once `landed` resolves and every earlier one of the connection is written. */
function acknowledge (client: OrderedClient, ack: AnyPacket, landed: Promise<void> | undefined, done: Done): void {
  if (landed === undefined && client[ORDER]?.head === undefined) { writeAck(client, ack, done); return }
  const turn = queueAck(client, ack, done)
  if (landed === undefined) settleAck(client, turn, undefined)
  else landed.then(() => { settleAck(client, turn, undefined) }, (err: Error) => { settleAck(client, turn, err) })
}

/** Puts an acknowledgement in the connection's line; settleAck says when its write has landed. */
function queueAck (client: OrderedClient, ack: AnyPacket, done: Done): AckTurn {
  const turn: AckTurn = { ack, done, settled: false, failure: undefined, next: undefined }
  const order = client[ORDER]
  if (order === undefined) client[ORDER] = { head: turn, tail: turn }
  else if (order.tail === undefined) { order.head = turn; order.tail = turn } else { order.tail.next = turn; order.tail = turn }
  return turn
}

/**
 * Marks a turn's write as landed (or failed) and writes every settled
 * acknowledgement at the head of the line, in order. Re-entrant: a write's
 * callback may hand the next packet in, which may queue or settle its own.
 */
function settleAck (client: OrderedClient, turn: AckTurn, failure: Error | undefined): void {
  turn.settled = true
  turn.failure = failure
  const order = client[ORDER]
  if (order === undefined) return
  let head = order.head
  while (head !== undefined && head.settled) {
    order.head = head.next
    if (order.head === undefined) order.tail = undefined
    writeSettled(client, head)
    head = order.head
  }
}

function writeSettled (client: OrderedClient, turn: AckTurn): void {
  const failure = turn.failure
  if (failure === undefined) writeAck(client, turn.ack, turn.done)
  else if (client.version === 5) {
    // the store could not write it (a full disk): refused as aedes refuses an authorizePublish error, the
    // connection kept (a v5 publisher learns it from the PUBACK and need not reconnect)
    client.broker.emit('clientError', client, failure)
    writeAck(client, refusalOf(client, turn.ack.messageId, failure), turn.done)
  } else turn.done(failure) // a 3.1.1 PUBACK cannot refuse: the connection closes, as in aedes
}

/** aedes's write() (lib/write.js) without its setImmediate: the mqtt-packet module's writeToStream, drain on backpressure. */
function writeAck (client: Qos1Client, ack: AnyPacket, done: Done): void {
  if (!client.connecting && !client.connected) { done(new Error('connection closed')); return }
  let written: boolean
  try {
    // looked up per call: edgemq's encoder and watchers wrap it (install-publish-encoder.ts ...)
    written = mqttPacket.writeToStream(ack as mqttPacket.Packet, client.conn as unknown as NodeJS.WritableStream, WRITE_OPTS[client._wireVersion ?? 4] ?? WRITE_OPTS[4])
  } catch (e) {
    done(new Error('packet received not valid', { cause: e }))
    return
  }
  if (!written && !client.errored) { client.waitForDrain(done); return }
  done(null)
}

/** MQTT 5 inbound Topic Alias, as aedes resolves it [MQTT-3.3.2-7..3.3.2-13]; an Error when the alias is invalid. */
function resolveTopicAlias (client: Qos1Client, packet: AnyPacket): Error | undefined {
  const alias = packet.properties.topicAlias as number
  const max = client.broker.topicAliasMaximum
  if (alias < 1 || alias > max) return new Error(`topic alias ${alias} is out of range (broker topicAliasMaximum is ${max})`)
  if (packet.topic.length > 0) {
    client._topicAliases.set(alias, packet.topic) // a valid topic name: isPlain checked it
  } else {
    const topic = client._topicAliases.get(alias)
    if (topic === undefined) return new Error(`unknown topic alias ${alias}`)
    packet.topic = topic
  }
  // connection-scoped: not passed on to subscribers (undefined, not delete, as aedes: no dictionary mode)
  packet.properties.topicAlias = undefined
  return undefined
}

/** Bytes on the wire of a packet with this remaining length (aedes's packetWireSize). */
function wireSize (remaining: number | undefined): number {
  const r = remaining ?? 0
  return 1 + (r >= 2097152 ? 4 : r >= 16384 ? 3 : r >= 128 ? 2 : 1) + r
}

