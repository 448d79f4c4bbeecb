// The engine: aedes 2.0.0-beta.1 built from the config, with its callbacks and
// events translated into edgemq's hook lists (src/broker-hooks.ts) and every
// override of its internals installed (each in its own file of this folder,
// listed in docs/engine.md). Nothing outside src/engine/ sees an aedes,
// mqemitter or mqtt-packet object: the composition root gets an Engine, the
// parts get hook lists and the store contract.
import { randomBytes } from 'node:crypto'
import { Aedes, type AedesPublishPacket, type Client, type Subscription } from 'aedes'
import mqttPacket from 'mqtt-packet'
import { ALLOW, type BrokerHooks, type ClientConnection, type ClientInfo, type Decision, type DeliveryInfo, type PublishInfo, type SessionOwner } from '../broker-hooks.ts'
import type { EdgemqConfig } from '../config/types.ts'
import { boundKeepalive } from '../core/keepalive-bound.ts'
import { isPending, runDecisions } from '../core/run-decisions.ts'
import { runConnectHooks, runSubscribeHooks } from '../core/run-hooks.ts'
import { checkConnectStrings, checkTopicFilter, checkTopicName } from '../listeners/packet-checks.ts'
import type { IncomingConnection } from '../listeners/start-listener.ts'
import type { Logger } from '../observability/logger.ts'
import type { PacketCounters } from '../observability/core-metrics.ts'
import type { LocalBrokerApi } from '../part-context.ts'
import { installV5Shims } from './install-v5-shims.ts'
import { installCleanStartConnect } from './clean-start-connect.ts'
import { installSkipClientAnnouncements } from './skip-client-announcements.ts'
import { AFTER_ROUTE, installRouteQos1BeforeAck, type AcceptPublish, type AckWait } from './route-qos1-before-ack.ts'
import { CONNACK_V3, REASON, toConnackReturnCode } from '../reason-codes.ts'
import type { OrphanWill, Store } from '../store-contract.ts'
import { connectionControls } from './connection-controls.ts'
import { guardEmitterRecursion } from './guard-emitter-recursion.ts'
import { installPublishEncoder } from './install-publish-encoder.ts'
import { disableNumberCache } from './disable-number-cache.ts'
import { usePlainBufferList } from './use-plain-buffer-list.ts'
import { cacheEmitterMatches } from './cache-emitter-matches.ts'
import { installReleaseConnectPacket } from './release-connect-packet.ts'
import { setMaximumPacketSize } from './set-maximum-packet-size.ts'
import { setServerKeepAlive } from './set-server-keep-alive.ts'
import { useFifoEmitterQueues } from './use-fifo-emitter-queues.ts'
import { watchIncomingStore } from './watch-incoming-store.ts'
import { installStripWillProperties } from './strip-will-properties.ts'
import { installMergeOverlappingDeliveries } from './merge-overlapping-deliveries.ts'
import { installOrderRetainedOnSubscribe } from './order-retained-on-subscribe.ts'
import { installEnforceReceiveMaximum } from './enforce-receive-maximum.ts'
import { installCloseOnBadAcks } from './close-on-bad-acks.ts'
import { installCheckConnect } from './check-connect.ts'
import { installDropDeliveredCopies } from './drop-delivered-copies.ts'
import type { EventLog } from '../observability/event-log.ts'
import { acknowledgeAndDrop } from './drop-denied-publish.ts'
import { installClearInboundDup } from './clear-inbound-dup.ts'
import { installBoundPropertyBlocks } from './bound-property-blocks.ts'
import { installConnackSessionPresent } from './connack-session-present.ts'
import { restoreSessionExpiry } from './restore-session-expiry.ts'
import { installSendTopicAliases } from './send-topic-aliases.ts'
import { installCountOutgoingInflight } from './count-outgoing-inflight.ts'
import { setRefusalReasonCode } from './connack-reason-code.ts'
import { installRefusalReasonCodes, noteRefusedPublish, noteRefusedSubscription, watchClientSubscribes } from './refusal-reason-codes.ts'

/** Counters the engine adds to (the broker's $SYS and `edgemq ctl stats` read them). */
export interface EngineCounters {
  connectionsRefused: number
  messagesReceived: number
  malformedClosed: number
  /** PUBLISH packets the ACL denied ($SYS messages/denied). */
  publishDenied: number
  /** Connections closed by the frame guard for a packet over limits.maxPacketSize. */
  oversizeRefused: number
  /** QoS 1/2 PUBLISHes of v5 clients refused with 0x97 because a subscriber's offline queue is full (limits.queueFullPolicy refuse-new). */
  queueFullRefused: number
}

/** What the engine is built from. */
export interface EngineDeps {
  /** The config in force (a reload swaps what this returns). */
  config: () => EdgemqConfig
  hooks: BrokerHooks
  store: Store
  logger: Logger
  counters: EngineCounters
  /** Per-QoS message and byte counts: plain numbers bumped on the packet path, read at scrape time. */
  packets: PacketCounters
  /** Connects, disconnects and refusals, rate-limited per kind (src/observability/event-log.ts). */
  events: EventLog
}

/** The protocol engine as the composition root sees it. */
export interface Engine {
  /** Serves one connection a listener accepted; returns its controls for the parts. */
  handle: (conn: IncomingConnection, listener: string) => ClientConnection
  /** Publishing and subscribing inside the broker ($SYS, bridge). */
  local: LocalBrokerApi
  /** Routes a stored packet as if it had just been published (journal replay). */
  publishStored: (packet: unknown) => Promise<void>
  connectedClients: () => number
  /** The client a connection belongs to (undefined before its CONNECT), for log lines about that connection. */
  clientOf: (conn: IncomingConnection) => ClientInfo | undefined
  /** Applies a reloaded limits.maxPacketSize. */
  setMaxPacketSize: (bytes: number) => void
  /** Counters of the MQTT 5 protocol layer, for $SYS/broker/protocol/. */
  protocolStats: () => Record<string, number>
  /** Outgoing QoS 1/2 messages sent and not yet acknowledged, over all connections. */
  outgoingInflight: () => number
  /** Closes every client and stops the engine (the store's in-flight writes finish first). */
  close: () => Promise<void>
}

/** Per-connection state edgemq keeps on the aedes client object. */
interface ClientState {
  info: ClientInfo
  listener: string
  /** Set when a 3.1.1 CONNECT's keepalive is out of bounds: refused with CONNACK 2. */
  refuseKeepalive?: string
  /** Set once aedes said the client disconnected or its socket closed (a late clientReady is then ignored). */
  left?: boolean
  /** Journal hand-offs of this publisher not landed yet: its next QoS 1 message is journaled too, so none overtakes them (see publishDecided). */
  journaling?: number
  /** From the CONNECT, kept for the connect hooks. */
  connect?: { clean: boolean, sessionExpiry?: number, keepalive: number, will?: { topic: string, payload: Buffer, qos: number, retain: boolean } }
}

const STATE = Symbol('edgemq')
type EdgemqClient = Client & { [STATE]?: ClientState }
type Done = (err?: Error | null) => void
/** Done of the QoS 1 path (route-qos1-before-ack.ts): told what the PUBACK waits for on acceptance. */
type Decided = (err?: Error | null, wait?: AckWait) => void
type ConnectPacket = { clientId: string, username?: string, protocolVersion?: number, clean?: boolean, keepalive?: number, properties?: { sessionExpiryInterval?: number }, will?: { topic: string, payload: Buffer, qos: number, retain: boolean } | null }

// The connection of a client that is gone (a will an earlier run left): nothing to pause or close.
const GONE: ClientConnection = { pause: () => {}, resume: () => {}, bytesRead: () => 0, bytesWritten: () => 0, pendingWrite: () => 0, close: () => {}, isOpen: () => false }

/** Builds and starts the engine (aedes with edgemq's hooks and overrides). */
export async function createEngine (deps: EngineDeps): Promise<Engine> {
  const { hooks, store, counters, packets } = deps
  const log = deps.logger
  const config = deps.config()
  let aedesId = ''

  // Each connection's client, for log lines about the connection (freed with the socket).
  const clients = new WeakMap<object, ClientInfo>()
  // Connects, disconnects and refusals at info, rate-limited per kind: the composition root's one event log.
  const events = deps.events
  const who = (client: EdgemqClient | null | undefined): { client?: string, user?: string, ip?: string } => {
    const info = client?.[STATE]?.info
    return { client: client?.id ?? undefined, user: info?.username, ip: info?.ip }
  }
  // Durable hand-offs before the acknowledgement (bridge queue, journal). A
  // hook that has nothing to do returns nothing, so a QoS 0 message, or a
  // QoS 1 one no crash could lose, is acknowledged in the same turn (no
  // promise per message).
  const publishFailed = (packet: AedesPublishPacket, done: Done, err: Error): void => {
    log.error('publish refused: store failed', { error: err.message, topic: packet.topic })
    done(err)
  }
  const handOff = async (pending: Array<Promise<void>> | undefined, journalFor: EdgemqClient | null, packet: AedesPublishPacket): Promise<void> => {
    if (pending !== undefined) await Promise.all(pending)
    if (journalFor === null) return
    const journaled = store.journalIncoming(journalFor.id, packet)
    countJournaling(journalFor[STATE], journaled)
    await journaled
  }
  // A publisher's journal hand-offs not landed yet, so that its next QoS 1 message is journaled too
  // and cannot overtake them (see publishDecided).
  const countJournaling = (state: ClientState | undefined, landed: Promise<unknown> | undefined): void => {
    if (state === undefined || landed === undefined) return
    state.journaling = (state.journaling ?? 0) + 1
    const ended = (): void => { state.journaling = (state.journaling ?? 1) - 1 }
    landed.then(ended, ended)
  }
  // The QoS 1 path (route-qos1-before-ack.ts): the same hand-offs, started
  // together and not waited for here: the message is routed once its journal
  // entry is queued, the PUBACK written once everything has landed.
  const startHandOff = (pending: Array<Promise<void>> | undefined, journalFor: EdgemqClient | null, packet: AedesPublishPacket): AckWait => {
    let queued: Promise<void> | undefined
    let landed: Promise<void> | undefined
    if (journalFor !== null) {
      if (store.beginJournal !== undefined) ({ queued, landed } = store.beginJournal(journalFor.id, packet))
      else queued = landed = store.journalIncoming(journalFor.id, packet) // routed only once it has landed
    }
    if (pending !== undefined) landed = Promise.all(landed === undefined ? pending : [...pending, landed]).then(noop)
    const failed = (err: Error): never => { log.error('publish refused: store failed', { error: err.message, topic: packet.topic }); throw err }
    return { queued, landed: (landed as Promise<void>).catch(failed) }
  }
  // `fast`: the QoS 1 path's call, whose done takes what the PUBACK waits for instead of waiting here.
  // No closure in here or in authorizePublish: they run per message (a captured
  // variable makes V8 allocate a context on every call, taken or not).
  const publishDecided = (decision: Decision, state: ClientState | undefined, msg: PublishInfo, packet: AedesPublishPacket, client: EdgemqClient | null, done: Decided, fast: boolean): void => {
    if (!decision.ok) {
      events.event('publish-refused', 'info', 'publish refused', { ...who(client), topic: packet.topic, reason: decision.reason })
      if (decision.reasonCode === REASON.NOT_AUTHORIZED) {
        counters.publishDenied++
        // [MQTT-3.3.5-2] a 3.1.1 client is acknowledged and the message dropped (auth.deniedPublish)
        if (client !== null && (client.version ?? 4) < 5 && !msg.isWill && (deps.config().auth as { deniedPublish?: string } | undefined)?.deniedPublish !== 'disconnect') {
          acknowledgeAndDrop(client, packet, done)
          return
        }
      }
      if (client !== null) noteRefusedPublish(client.conn, packet.messageId, decision.reasonCode) // 0x97 quota, not aedes's 0x87
      done(new Error(decision.reason))
      return
    }
    // limits.queueFullPolicy refuse-new: a v5 publisher hears 0x97 before anything is accepted
    if (packet.qos > 0 && client !== null && (client.version ?? 4) === 5 && store.queueFull?.(packet) === true) {
      counters.queueFullRefused++
      noteRefusedPublish(client.conn, packet.messageId, REASON.QUOTA_EXCEEDED)
      done(new Error('an offline queue of a subscriber is full (limits.queueFullPolicy: refuse-new)'))
      return
    }
    let pending: Array<Promise<void>> | undefined
    for (const h of hooks.beforeAck) {
      const r = h(state?.info, msg)
      if (r !== undefined) (pending ??= []).push(r)
    }
    const journal = packet.qos > 0 && client !== null && (store.needsJournal?.(packet) ?? true)
    if (fast) {
      counters.messagesReceived++
      packets.received[packet.qos]++
      packets.receivedBytes[packet.qos] += msg.payload.length
      // A QoS 1 message whose persistent subscribers are all away is stored
      // before its PUBACK instead of journaled (issue 11): routed at once, its
      // PUBACK waits for the routing, which ends once its queue write has
      // landed. Its payload is written once, not twice (journal entry, then
      // queued copy). Not while a journal hand-off of this publisher is on its
      // way: routed at once, it could overtake that message [MQTT-4.6.0-6].
      if (journal && pending === undefined && (state?.journaling ?? 0) === 0 && store.ackAfterStore?.(packet) === true) {
        done(null, AFTER_ROUTE)
        return
      }
      if (pending === undefined && !journal) { done(null); return }
      const wait = startHandOff(pending, journal ? client : null, packet)
      if (journal) countJournaling(state, wait.landed)
      done(null, wait)
      return
    }
    if (pending === undefined && !journal) {
      counters.messagesReceived++
      packets.received[packet.qos]++
      packets.receivedBytes[packet.qos] += msg.payload.length
      done(null)
      return
    }
    routeAfterHandOff(handOff(pending, journal ? client : null, packet), packet, msg.payload.length, done)
  }
  const routeAfterHandOff = (handedOff: Promise<void>, packet: AedesPublishPacket, bytes: number, done: Done): void => {
    handedOff.then(() => { counters.messagesReceived++; packets.received[packet.qos]++; packets.receivedBytes[packet.qos] += bytes; done(null) }, (err: Error) => { publishFailed(packet, done, err) })
  }

  const preConnect = (client: EdgemqClient, packet: ConnectPacket, done: (err: Error | null, ok: boolean) => void): void => {
    const state = client[STATE]
    if (state === undefined) { done(new Error('unknown connection'), false); return }
    const limits = deps.config().limits
    // [MQTT-1.5.4-2] no U+0000; control characters and ill-formed UTF-8 are refused too (CVE-2017-7653)
    // A bad client id or user name is refused later, at CONNACK (0x85 / 0x86), by the connect hooks.
    const problem = checkConnectStrings({ will: packet.will }, limits)
    if (problem !== undefined) {
      counters.malformedClosed++
      log.info('connection closed: malformed CONNECT', { ip: state.info.ip, listener: state.listener, reason: problem })
      done(Object.assign(new Error(problem), { returnCode: CONNACK_V3.IDENTIFIER_REJECTED }), false)
      return
    }
    const bound = boundKeepalive(packet.keepalive ?? 0, packet.protocolVersion ?? 4, limits.keepaliveMax, limits.keepaliveStrict)
    if (bound !== undefined) {
      if ('serverKeepAlive' in bound) setServerKeepAlive(client, bound.serverKeepAlive)
      else state.refuseKeepalive = bound.refuse
    }
    const will = packet.will ?? undefined
    state.connect = { clean: packet.clean ?? true, sessionExpiry: packet.properties?.sessionExpiryInterval, keepalive: packet.keepalive ?? 0, will: will === undefined ? undefined : { topic: will.topic, payload: will.payload, qos: will.qos, retain: will.retain } }
    done(null, true)
  }

  const authenticate = (client: EdgemqClient, username: string | undefined, password: Buffer | undefined, done: (err: (Error & { returnCode?: number }) | null, ok: boolean) => void): void => {
    const state = client[STATE]
    if (state === undefined) { done(Object.assign(new Error('unknown connection'), { returnCode: CONNACK_V3.SERVER_UNAVAILABLE }), false); return }
    const info = state.info
    if (state.refuseKeepalive !== undefined) {
      log.info('connection refused', { ip: info.ip, listener: state.listener, reason: state.refuseKeepalive })
      done(Object.assign(new Error(state.refuseKeepalive), { returnCode: CONNACK_V3.IDENTIFIER_REJECTED }), false)
      return
    }
    info.id = client.id
    info.protocolVersion = client.version ?? 4
    const req = {
      client: info,
      username,
      password,
      cleanStart: state.connect?.clean ?? true,
      sessionExpiry: state.connect?.sessionExpiry,
      keepalive: state.connect?.keepalive ?? 0,
      will: state.connect?.will
    }
    const decided = (decision: Decision): void => {
      if (decision.ok) { done(null, true); return }
      for (const h of hooks.connectFailed) h(req, decision)
      log.info('connection refused', { ip: info.ip, client: client.id, listener: state.listener, reason: decision.reason })
      setRefusalReasonCode(client, decision.reasonCode) // v5 CONNACK: this code, not aedes's mapping of the 3.1.1 one
      done(Object.assign(new Error(decision.reason), { returnCode: toConnackReturnCode(decision.reasonCode), reasonCode: decision.reasonCode }), false)
    }
    const failed = (err: Error): void => {
      log.error('authentication failed with an error', { ip: info.ip, error: err.message })
      done(Object.assign(new Error('server unavailable'), { returnCode: CONNACK_V3.SERVER_UNAVAILABLE }), false)
    }
    // Synchronous while every connect hook answers at once (src/core/run-hooks.ts).
    let decision: Decision | Promise<Decision>
    try {
      decision = runConnectHooks(hooks, req)
    } catch (err) {
      failed(err as Error)
      return
    }
    if (isPending(decision)) decision.then(decided, failed)
    else decided(decision)
  }

  // `fast`: the QoS 1 path's caller (acceptQos1 below), whose done is told what the PUBACK waits for.
  const authorizePublish = (client: EdgemqClient | null, packet: AedesPublishPacket, done: Decided, fast = false): void => {
    const state = client?.[STATE]
    const problem = checkTopicName(packet.topic, deps.config().limits)
    if (problem !== undefined) { done(new Error(problem)); return }
    // Nobody publishes into $SYS: the broker listens there itself (aedes #622).
    if (packet.topic.startsWith('$SYS')) { done(new Error('publishing to $SYS is not allowed')); return }
    const msg: PublishInfo = { topic: packet.topic, qos: packet.qos, retain: packet.retain, payload: packet.payload as Buffer, isWill: client !== null && (client as unknown as { will?: unknown }).will === packet }
    // Synchronous while every publish hook answers synchronously (see src/core/run-decisions.ts).
    let decision: Decision | Promise<Decision>
    try {
      decision = state === undefined ? ALLOW : runDecisions(hooks.publish, state.info, msg)
    } catch (err) {
      publishFailed(packet, done, err as Error)
      return
    }
    if (isPending(decision)) decideLater(decision, state, msg, packet, client, done, fast)
    else publishDecided(decision, state, msg, packet, client, done, fast)
  }
  const decideLater = (decision: Promise<Decision>, state: ClientState | undefined, msg: PublishInfo, packet: AedesPublishPacket, client: EdgemqClient | null, done: Decided, fast: boolean): void => {
    decision.then((d) => { publishDecided(d, state, msg, packet, client, done, fast) }, (err: Error) => { publishFailed(packet, done, err) })
  }
  const acceptQos1: AcceptPublish = (client, packet, decided) => {
    authorizePublish(client as EdgemqClient, packet as unknown as AedesPublishPacket, decided, true)
  }

  // A will an earlier run left (its client gone in a crash or kill -9) is
  // published by aedes's will sweep with no client, which authorizePublish
  // cannot refuse without stopping the sweep. The store asks here before it
  // hands such a will to aedes, as the will's owner (the user its client id
  // is bound to, with that user's groups in the ACL in force): a will the
  // ACL no longer allows is deleted, not published (issue 14).
  const allowOrphanWill = (will: OrphanWill): boolean | Promise<boolean> => {
    let owner: SessionOwner | undefined
    for (const h of hooks.sessionOwner) { owner = h(will.clientId); if (owner !== undefined) break }
    const info: ClientInfo = { id: will.clientId, ip: '', port: 0, listener: '', protocolVersion: 0, username: owner?.username, groups: owner?.groups ?? [], overrides: {}, connection: GONE }
    const msg: PublishInfo = { topic: will.topic, qos: will.qos, retain: will.retain, payload: will.payload as Buffer, isWill: true }
    const decided = (d: Decision): boolean => {
      if (!d.ok) {
        counters.publishDenied++
        events.event('publish-refused', 'info', 'will of an earlier run dropped', { client: will.clientId, user: owner?.username, topic: will.topic, reason: d.reason })
      }
      return d.ok
    }
    const failed = (err: Error): boolean => {
      log.error('will of an earlier run dropped: its check failed', { client: will.clientId, topic: will.topic, error: err.message })
      return false
    }
    try {
      const d = runDecisions(hooks.publish, info, msg)
      return isPending(d) ? d.then(decided, failed) : decided(d)
    } catch (err) {
      return failed(err as Error)
    }
  }
  store.setOrphanWillCheck?.(allowOrphanWill)
  // aedes lists a client until its close has run, a few turns after its socket
  // closed (a DISCONNECT destroys the socket first): for the refuse-new
  // decision a client whose socket is closed is away (found by the model-based
  // test). Canary: test/engine/connection-check.test.ts
  store.setConnectionCheck?.((clientId) => {
    const client = (aedes as unknown as { clients: Record<string, { conn?: { destroyed?: boolean } } | undefined> }).clients[clientId]
    return client !== undefined && client.conn?.destroyed !== true
  })

  const authorizeSubscribe = (client: EdgemqClient, sub: Subscription, done: (err: Error | null, sub: Subscription | null) => void): void => {
    const state = client[STATE]
    const problem = checkTopicFilter(sub.topic, deps.config().limits)
    if (problem !== undefined) { done(new Error(problem), null); return }
    if (state === undefined) { done(null, null); return }
    const decided = (decision: Decision): void => {
      if (!decision.ok) {
        noteRefusedSubscription(sub, decision.reasonCode)
        events.event('subscribe-refused', 'info', 'subscription refused', { ...who(client), filter: sub.topic, reason: decision.reason })
        done(null, null) // SUBACK failure: 0x80 (v3) / Not authorized (v5), chosen by aedes
        return
      }
      done(null, sub)
    }
    // Synchronous while every subscribe hook answers at once (src/core/run-hooks.ts).
    let decision: Decision | Promise<Decision>
    try {
      decision = runSubscribeHooks(hooks, state.info, sub.topic, sub.qos)
    } catch (err) {
      done(err as Error, null)
      return
    }
    if (isPending(decision)) decision.then(decided, (err: Error) => { done(err, null) })
    else decided(decision)
  }

  const authorizeForward = (client: EdgemqClient, packet: AedesPublishPacket): AedesPublishPacket | null => {
    // aedes's own $SYS/<id>/new/clients etc. carry client ids: never delivered.
    if (packet.topic.startsWith('$SYS/') && packet.topic.startsWith(`$SYS/${aedesId}/`) && !packet.topic.endsWith('/heartbeat')) return null
    const state = client[STATE]
    if (state === undefined) return packet
    for (const h of hooks.deliver) if (!h(state.info, packet.topic, packet as DeliveryInfo)) return null
    packets.sent[packet.qos]++
    packets.sentBytes[packet.qos] += (packet.payload as Buffer).length
    return packet
  }

  const published = (packet: AedesPublishPacket, client: EdgemqClient | null, done: Done): void => {
    // A message with no journal entry (only clean subscribers) finishes in the same turn: no promise per message.
    const ended = packet.qos > 0 && client !== null && client !== undefined ? store.journalDone(client.id, packet) : undefined
    if (ended === undefined) { done(null); return }
    ended.then(() => done(null), (err: Error) => done(err))
  }

  const aedes = new Aedes({
    // A new id every start, as aedes's own (a fixed one would make brokerCounter
    // collide with queued messages of the previous run), in 12 characters (72
    // random bits) instead of a 36-character UUID: every queued message record
    // holds it, so it is 24 bytes less written per queued copy (issue 11).
    id: randomBytes(9).toString('base64url'),
    persistence: store.aedesPersistence,
    concurrency: 1000,
    connectTimeout: config.limits.connectTimeout,
    keepaliveLimit: 0, // edgemq bounds keepalive itself (preConnect, src/core/keepalive-bound.ts)
    maxClientsIdLength: config.limits.maxClientIdLength,
    maxTopicLevels: config.limits.maxTopicLevels,
    topicAliasMaximum: config.limits.topicAliasMaximum,
    maximumPacketSize: config.limits.maxPacketSize,
    receiveMaximum: config.limits.maxInflight,
    sessionExpiryIntervalLimit: Math.floor(config.limits.sessionExpiryMax / 1000),
    pendingSessionsLimit: config.limits.maxConnections,
    drainTimeout: config.limits.drainTimeout,
    heartbeatInterval: config.sys.interval > 0 ? config.sys.interval : 60_000,
    queueLimit: 42,
    preConnect,
    authenticate,
    authorizePublish,
    authorizeSubscribe,
    authorizeForward,
    published
  } as unknown as ConstructorParameters<typeof Aedes>[0])
  aedesId = aedes.id
  // QoS 2 messages stored and released, for limits.maxUnreleasedQos2 (hook lists, no aedes types).
  watchIncomingStore(store.aedesPersistence, {
    stored: (clientId, messageId) => { for (const h of hooks.qos2Stored) h(clientId, messageId) },
    released: (clientId, messageId) => { for (const h of hooks.qos2Released) h(clientId, messageId) }
  })

  aedes.on('clientReady', (client: EdgemqClient) => {
    const state = client[STATE]
    // aedes emits clientReady after clientDisconnect when DISCONNECT follows
    // CONNECT at once (mosquitto_pub): a part told "connected" then would keep
    // that client's state for ever (issue 15: per-client maps grew by one per
    // short-lived client). A client that already left is not announced.
    if (state?.left === true) return
    if (state !== undefined) for (const h of hooks.connected) h(state.info)
    events.event('connect', 'info', 'client connected', () => ({ ...who(client), listener: state?.listener, protocol: state?.info.protocolVersion }))
  })
  aedes.on('clientDisconnect', (client: EdgemqClient) => {
    const state = client[STATE]
    if (state !== undefined) state.left = true
    if (state !== undefined) for (const h of hooks.disconnected) h(state.info)
    events.event('disconnect', 'info', 'client disconnected', () => ({ ...who(client), listener: state?.listener }))
  })
  aedes.on('unsubscribe', (filters: string[], client: EdgemqClient) => {
    const state = client?.[STATE]
    if (state !== undefined) for (const f of filters) for (const h of hooks.unsubscribe) h(state.info, f)
  })
  aedes.on('clientError', (client: EdgemqClient, err: Error) => {
    log.debug('client error', { client: client?.id, error: err.message })
  })
  aedes.on('connectionError', (client: EdgemqClient, err: Error) => {
    log.debug('connection error', { ip: client?.[STATE]?.info.ip, error: err.message })
  })
  const mq = (aedes as unknown as { mq: object }).mq
  guardEmitterRecursion(mq)
  useFifoEmitterQueues(mq)
  cacheEmitterMatches(mq) // each topic's listeners kept until a subscription changes (no split and walk per message)
  await aedes.listen()
  // The two innermost parser filters (CONNECT with Clean Start; QoS 0/1 PUBLISH),
  // so every check installed below runs before them (see their headers).
  installCleanStartConnect(aedes)
  installSkipClientAnnouncements(aedes) // $SYS/<id>/new/clients etc.: nobody (one instance) listens
  installRouteQos1BeforeAck(aedes, { accept: acceptQos1, routesOffline: store.routesOffline, offlineSubscriptions: store.offlineSubscriptions })
  const shims = installV5Shims(aedes, {
    logger: log,
    onMalformed: () => { counters.malformedClosed++ },
    mayReceive: (client, topic) => { const s = (client as EdgemqClient)[STATE]; return s === undefined || hooks.readable.every((h) => h(s.info, topic)) },
    hasSession: store.sessions === undefined ? undefined : (clientId) => store.sessions!.hasSession(clientId)
  })
  installStripWillProperties(aedes) // a will PUBLISH carries no Will Delay Interval (MQTT 5.0 §3.3.2.3)
  installMergeOverlappingDeliveries(aedes) // overlapping subscriptions: one copy at the highest QoS [MQTT-3.3.5-1]
  installOrderRetainedOnSubscribe(aedes) // the retained copy on SUBSCRIBE never follows a newer live message of its topic [MQTT-4.6.0-6]
  disableNumberCache(mqttPacket as unknown as Parameters<typeof disableNumberCache>[0]) // 65,536 cached Buffers, ~6.5 MiB
  usePlainBufferList(mqttPacket as unknown as Parameters<typeof usePlainBufferList>[0]) // no Duplex stream per connection's parser (~0.8 KiB each)
  // One buffer per outgoing 3.1.1 PUBLISH/ack, shared by every subscriber of a QoS 0 message.
  installPublishEncoder(mqttPacket as unknown as Parameters<typeof installPublishEncoder>[0])
  installRefusalReasonCodes(mqttPacket as unknown as Parameters<typeof installRefusalReasonCodes>[0])
  // The Receive Maximum of CONNACK holds for what v5 clients send (0x93 past it) [MQTT-3.3.4-9].
  installEnforceReceiveMaximum(aedes, mqttPacket, { onExceeded: (clientId, max) => { log.info('connection closed: receive maximum exceeded', { client: clientId ?? undefined, max }) } })
  // PUBACK/PUBREC/PUBREL/PUBCOMP that break the protocol close the connection (v5: 0x81/0x82 first).
  installCloseOnBadAcks(aedes, mqttPacket, { onClosed: (clientId, problem) => { counters.malformedClosed++; log.info('connection closed: bad acknowledgement', { client: clientId ?? undefined, reason: problem.reason }) } })
  // A live copy of a message the queue replay already delivered is not sent again [MQTT-4.3.3-9].
  installDropDeliveredCopies(mqttPacket)
  // CONNECTs the spec refuses: will QoS 3, user name/password without flags, bad protocol level (CONNACK 1), ...
  installCheckConnect(aedes, mqttPacket, { onRefused: (problem) => { counters.malformedClosed++; log.info('connection closed: CONNECT refused', { reason: problem.reason }) } })
  installClearInboundDup(aedes) // a publisher's DUP=1 is not passed on to subscribers [MQTT-3.3.1-3]
  installReleaseConnectPacket(aedes) // the parser keeps the CONNECT's protocol version, not the packet (and its password)
  installBoundPropertyBlocks(mqttPacket) // a v5 property read past its block is malformed; a one-byte property 2 is kept for the checks
  // A persistent session without subscriptions is resumed with Session Present 1 [MQTT-3.2.2-2].
  if (store.sessions !== undefined) installConnackSessionPresent(aedes, mqttPacket, store.sessions, (err) => { log.error('session marker not stored', { error: err.message }) })
  // v5 sessions whose expiry passed while no process watched them end before any client is served [MQTT-4.1.0-2]
  const expiry = hasExpiry(store.sessions) ? await restoreSessionExpiry(aedes, store.sessions, (err) => { log.error('session expiry not stored', { error: err.message }) }) : undefined
  if (expiry !== undefined && expiry.ended > 0) log.info('expired sessions ended at start', { ended: expiry.ended, pending: expiry.armed })
  // Topic aliases for v5 clients that allow them (MQTT 5.0 §3.3.2.3.4); last, so it sees each PUBLISH as written.
  installSendTopicAliases(aedes, mqttPacket, () => ({ enabled: deps.config().limits.sendTopicAliases, budget: deps.config().limits.topicAliasBudget }))
  // Outgoing QoS 1/2 flows awaiting their acknowledgement, broker-wide (edgemq_inflight_messages); last, so it sees what is really written.
  const inflight = installCountOutgoingInflight(aedes, mqttPacket)

  const publish = async (packet: unknown): Promise<void> => {
    await new Promise<void>((resolve, reject) => aedes.publish(packet as AedesPublishPacket, (err?: Error) => { if (err) reject(err); else resolve() }))
  }
  const local: LocalBrokerApi = {
    publish: async (msg) => {
      await publish({ cmd: 'publish', topic: msg.topic, payload: msg.payload, qos: msg.qos, retain: msg.retain, dup: false, properties: msg.properties })
    },
    subscribe: async (filter, onMessage) => {
      const fn = (packet: AedesPublishPacket, cb: () => void): void => {
        onMessage({ topic: packet.topic, payload: packet.payload as Buffer, qos: packet.qos, retain: packet.retain, properties: (packet as unknown as { properties?: Record<string, unknown> }).properties })
        cb()
      }
      await new Promise<void>((resolve) => aedes.subscribe(filter, fn, () => resolve()))
      return async () => { await new Promise<void>((resolve) => aedes.unsubscribe(filter, fn, () => resolve())) }
    }
  }

  return {
    handle: (conn, listener) => {
      const client = aedes.handle(conn.stream, undefined as never) as EdgemqClient
      watchClientSubscribes(client)
      const connection = connectionControls(client, conn)
      const info: ClientInfo = { id: '', ip: conn.ip, port: conn.port, listener, protocolVersion: 4, groups: [], certificate: conn.certificate, overrides: {}, connection }
      client[STATE] = { listener, info }
      clients.set(conn.socket, info)
      // once per opened connection, whatever happened before (per-connection state is freed here)
      // ('close' comes once: on() spares once()'s per-connection wrapper)
      conn.socket.on('close', () => {
        const state = client[STATE]
        if (state !== undefined) state.left = true
        for (const h of hooks.closed) h(info)
      })
      return connection
    },
    local,
    publishStored: publish,
    connectedClients: () => aedes.connectedClients,
    clientOf: (conn) => { const info = clients.get(conn.socket); return info === undefined || info.id === '' ? undefined : info },
    setMaxPacketSize: (bytes) => { setMaximumPacketSize(aedes, bytes) },
    protocolStats: () => shims.stats(),
    outgoingInflight: () => inflight.count,
    close: async () => { expiry?.stop(); await new Promise<void>((resolve) => aedes.close(() => resolve())) }
  }
}

function noop (): void {}

function hasExpiry (sessions: Store['sessions']): sessions is Required<NonNullable<Store['sessions']>> {
  return sessions?.sessionClosed !== undefined && sessions.sessionDeadlines !== undefined && sessions.endSession !== undefined
}
