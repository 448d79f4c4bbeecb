// The composition root: the only file that touches aedes. It builds the aedes
// instance from the config, translates aedes hooks and events into the plain
// hook lists of src/broker-hooks.ts, starts the listeners, and owns reload and
// shutdown. The logic behind each hook lives in its own part.
import { Aedes, type AedesPublishPacket, type Client, type Subscription } from 'aedes'
import { ALLOW, createBrokerHooks, type BrokerHooks, type ClientConnection, type ClientInfo, type Decision, type DeliveryInfo, type PublishInfo } from './broker-hooks.ts'
import type { EdgemqConfig, ListenerConfig } from './config/types.ts'
import { ControlServer, type ControlRegistry } from './control/control-server.ts'
import { startListener, type IncomingConnection, type RunningListener } from './listeners/start-listener.ts'
import { checkConnectIdentity, checkConnectStrings, checkTopicName, checkTopicFilter } from './listeners/packet-checks.ts'
import type { Logger } from './observability/logger.ts'
import { SysTopics } from './observability/sys-topics.ts'
import { Observatory } from './observability/observatory.ts'
import { createPacketCounters, registerCoreMetrics } from './observability/core-metrics.ts'
import { installV5Shims } from './protocol/aedes-v5-shims.ts'
import { installStripWillProperties } from './engine/strip-will-properties.ts'
import { installMergeOverlappingDeliveries } from './engine/merge-overlapping-deliveries.ts'
import { installEnforceReceiveMaximum } from './engine/enforce-receive-maximum.ts'
import { installCloseOnBadAcks } from './engine/close-on-bad-acks.ts'
import { installCheckConnect } from './engine/check-connect.ts'
import { acknowledgeAndDrop } from './engine/drop-denied-publish.ts'
import { installSendTopicAliases } from './engine/send-topic-aliases.ts'
import { installClearInboundDup } from './engine/clear-inbound-dup.ts'
import { isPending, runDecisions } from './core/run-decisions.ts'
import { installPublishEncoder } from './core/publish-encoder.ts'
import { FifoQueue } from './core/fifo-queue.ts'
import mqttPacket from 'mqtt-packet'
import { openStore, type Store } from './store.ts'
import { toConnackReturnCode } from './reason-codes.ts'
import { controlSocketPath } from './control/control-path.ts'
import { createEventLog } from './observability/event-log.ts'
import { installRefusalReasonCodes, noteRefusedPublish, noteRefusedSubscription, watchClientSubscribes } from './engine/refusal-reason-codes.ts'
import { runReloadTransaction, type PreparedReload, type ReloadStep } from './reload-transaction.ts'
import { prepareListenersReload } from './listeners/prepare-listeners-reload.ts'

/** A running broker. */
export interface EdgemqBroker {
  readonly config: EdgemqConfig
  readonly hooks: BrokerHooks
  /** Bound addresses by listener name (ports are real even when the config said 0). */
  addresses: () => Array<{ name: string, type: string, host: string, port: number }>
  /** Swaps in a new, already validated config: changed listeners restart, others keep their clients. */
  reload: (next: EdgemqConfig) => Promise<void>
  /** Stops accepting, closes clients, finishes writes, closes LevelDB. */
  close: () => Promise<void>
  /** Counters for $SYS and `edgemq ctl stats`. */
  stats: () => Record<string, number>
  /** The control socket's registry, for commands of the process that runs the broker (ctl apply). */
  control: ControlRegistry
}

/** Per-connection state edgemq keeps on the aedes client object. */
interface ClientState {
  info: ClientInfo
  listener: string
  /** Set when a 3.1.1 CONNECT's keepalive is out of bounds: refused with CONNACK 2. */
  refuseKeepalive?: string
  /** Set once aedes said the client disconnected or its socket closed (a late clientReady is then ignored). */
  left?: boolean
  /** From the CONNECT, kept for the connect hooks. */
  connect?: { clean: boolean, keepalive: number, will?: { topic: string, payload: Buffer, qos: number, retain: boolean } }
}

const STATE = Symbol('edgemq')
type EdgemqClient = Client & { [STATE]?: ClientState }

/** Parts attach here after the core is up (security, limits, bridge); each returns a handle with reload/close. */
export interface PartHandle {
  /**
   * The first half of a reload (src/reload-transaction.ts): read the files and
   * build the new state for `config`, apply nothing, throw if it is refused.
   * The returned commit applies it once every part and listener prepared.
   */
  prepareReload?: (config: EdgemqConfig) => Promise<PreparedReload | undefined>
  close?: () => Promise<void>
  /** Values published under $SYS/broker/ (keys relative to it), read every sys.interval. */
  sysValues?: () => Record<string, number | string>
}

/** What a part gets to attach itself. */
export interface PartContext {
  config: EdgemqConfig
  hooks: BrokerHooks
  store: Store
  logger: Logger
  control: ControlServer
  local: LocalBrokerApi
  /** Metrics, status sections and readiness (src/observability/observatory.ts); absent in some unit tests. */
  observe?: Observatory
}

/** Publishing and subscribing inside the broker, for the bridge and $SYS. */
export interface LocalBrokerApi {
  publish: (msg: { topic: string, payload: Buffer, qos: 0 | 1 | 2, retain: boolean, properties?: Record<string, unknown> }) => Promise<void>
  subscribe: (filter: string, onMessage: (msg: { topic: string, payload: Buffer, qos: number, retain: boolean, properties?: Record<string, unknown> }) => void) => Promise<() => Promise<void>>
}

/** A part's attach function. */
export type AttachPart = (ctx: PartContext) => Promise<PartHandle>

/** Starts the broker from a validated config. */
export async function startBroker (config: EdgemqConfig, logger: Logger, parts: readonly AttachPart[] = []): Promise<EdgemqBroker> {
  const log = logger.child('broker')
  const hooks = createBrokerHooks()
  const store = await openStore(config, logger.child('persistence'))
  let current = config
  let openSockets = 0
  const counters = { connectionsRefused: 0, messagesReceived: 0, malformedClosed: 0, publishDenied: 0 }
  // Per-QoS message and byte counts: plain numbers bumped on the packet path, read at scrape time.
  const packets = createPacketCounters()
  const observe = new Observatory()

  // Durable hand-offs before the acknowledgement (bridge queue, journal). A
  // hook that has nothing to do returns nothing, so a QoS 0 message, or a
  // QoS 1 one no crash could lose, is acknowledged in the same turn (no
  // promise per message).
  // Connects, disconnects and refusals at info, rate-limited per kind (src/observability/event-log.ts).
  const events = createEventLog(log)
  const who = (client: EdgemqClient | null | undefined): { client?: string, user?: string, ip?: string } => {
    const info = client?.[STATE]?.info
    return { client: client?.id ?? undefined, user: info?.username, ip: info?.ip }
  }
  const publishFailed = (packet: AedesPublishPacket, done: (err?: Error | null) => void, err: Error): void => {
    log.error('publish refused: store failed', { error: err.message, topic: packet.topic })
    done(err)
  }
  const publishDecided = (decision: Decision, state: ClientState | undefined, msg: PublishInfo, packet: AedesPublishPacket, client: EdgemqClient | null, done: (err?: Error | null) => void): void => {
    if (!decision.ok) {
      events.event('publish-refused', 'info', 'publish refused', { client: client?.id, user: state?.info.username, ip: state?.info.ip, topic: msg.topic, reason: decision.reason })
      if (decision.reasonCode === 0x87) {
        counters.publishDenied++
        // [MQTT-3.3.5-2] a 3.1.1 client is acknowledged and the message dropped (auth.deniedPublish)
        if (client !== null && (client.version ?? 4) < 5 && !msg.isWill && (current.auth as { deniedPublish?: string } | undefined)?.deniedPublish !== 'disconnect') {
          acknowledgeAndDrop(client, packet, done)
          return
        }
      }
      if (client !== null) noteRefusedPublish(client.conn, packet.messageId, decision.reasonCode) // 0x97 quota, not aedes's 0x87
      done(new Error(decision.reason))
      return
    }
    let pending: Array<Promise<void>> | undefined
    for (const h of hooks.beforeAck) {
      const r = h(state?.info, msg)
      if (r !== undefined) (pending ??= []).push(r)
    }
    const journal = packet.qos > 0 && client !== null && (store.needsJournal?.(packet) ?? true)
    if (pending === undefined && !journal) {
      counters.messagesReceived++
      packets.received[packet.qos]++
      packets.receivedBytes[packet.qos] += msg.payload.length
      done(null)
      return
    }
    void handOff(pending, journal ? client : null, packet).then(() => { counters.messagesReceived++; packets.received[packet.qos]++; packets.receivedBytes[packet.qos] += msg.payload.length; done(null) }, (err: Error) => { publishFailed(packet, done, err) })
  }
  const handOff = async (pending: Array<Promise<void>> | undefined, journalFor: EdgemqClient | null, packet: AedesPublishPacket): Promise<void> => {
    if (pending !== undefined) await Promise.all(pending)
    if (journalFor !== null) await store.journalIncoming(journalFor.id, packet)
  }
  const aedes = new Aedes({
    persistence: store.aedesPersistence,
    concurrency: 1000,
    connectTimeout: config.limits.connectTimeout,
    keepaliveLimit: 0, // edgemq bounds keepalive itself (preConnect)
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
    preConnect: (client: EdgemqClient, packet: { clientId: string, username?: string, protocolVersion?: number, clean?: boolean, keepalive?: number, will?: { topic: string, payload: Buffer, qos: number, retain: boolean } | null }, done: (err: Error | null, ok: boolean) => void) => {
      const state = client[STATE]
      if (state === undefined) { done(new Error('unknown connection'), false); return }
      // [MQTT-1.5.4-2] no U+0000; control characters and ill-formed UTF-8 are refused too (CVE-2017-7653)
      // A bad client id or user name is refused later, at CONNACK (0x85 / 0x86), by the connect hooks.
      const problem = checkConnectStrings({ will: packet.will }, current.limits)
      if (problem !== undefined) {
        counters.malformedClosed++
        log.info('connection closed: malformed CONNECT', { ip: state.info.ip, listener: state.listener, reason: problem })
        done(Object.assign(new Error(problem), { returnCode: 2 }), false)
        return
      }
      // CVE-2020-13849 (SlowITe): a keepalive above limits.keepaliveMax (0 =
      // never) would hold a dead connection for hours. v5 clients are told a
      // Server Keep Alive instead [MQTT-3.2.2-21]. A 3.1.1 client cannot be
      // told: by default it is accepted as Mosquitto 2.0 does (keepalive 0 is
      // legal [MQTT-3.1.2-10] and common), and the TCP keepalive probes armed
      // in handleConnection find a dead peer; limits.keepaliveStrict refuses it
      // with "identifier rejected" instead (aedes's own check answers 6, which
      // 3.1.1 does not define, so edgemq passes keepaliveLimit 0 to aedes).
      const keepaliveMax = current.limits.keepaliveMax
      const keepalive = packet.keepalive ?? 0
      if (keepaliveMax > 0 && (keepalive === 0 || keepalive > keepaliveMax)) {
        if ((packet.protocolVersion ?? 4) >= 5) (client as unknown as { _serverKeepAlive?: number })._serverKeepAlive = keepaliveMax
        else if (current.limits.keepaliveStrict) state.refuseKeepalive = `keepalive ${keepalive} is 0 or above limits.keepaliveMax (${keepaliveMax} s) and limits.keepaliveStrict is on`
      }
      const will = packet.will ?? undefined
      state.connect = { clean: packet.clean ?? true, keepalive: packet.keepalive ?? 0, will: will === undefined ? undefined : { topic: will.topic, payload: will.payload, qos: will.qos, retain: will.retain } }
      done(null, true)
    },
    authenticate: (client: EdgemqClient, username: string | undefined, password: Buffer | undefined, done: (err: (Error & { returnCode?: number }) | null, ok: boolean) => void) => {
      const state = client[STATE]
      if (state === undefined) { done(Object.assign(new Error('unknown connection'), { returnCode: 3 }), false); return }
      const info = state.info
      if (state.refuseKeepalive !== undefined) {
        log.info('connection refused', { ip: info.ip, listener: state.listener, reason: state.refuseKeepalive })
        done(Object.assign(new Error(state.refuseKeepalive), { returnCode: 2 }), false)
        return
      }
      info.id = client.id
      info.protocolVersion = client.version ?? 4
      const req = {
        client: info,
        username,
        password,
        cleanStart: state.connect?.clean ?? true,
        keepalive: state.connect?.keepalive ?? 0,
        will: state.connect?.will
      }
      void runConnectHooks(hooks, req).then((decision) => {
        if (decision.ok) { done(null, true); return }
        for (const h of hooks.connectFailed) h(req, decision)
        log.info('connection refused', { ip: info.ip, client: client.id, listener: state.listener, reason: decision.reason })
        done(Object.assign(new Error(decision.reason), { returnCode: toConnackReturnCode(decision.reasonCode), reasonCode: decision.reasonCode }), false)
      }, (err: Error) => {
        log.error('authentication failed with an error', { ip: info.ip, error: err.message })
        done(Object.assign(new Error('server unavailable'), { returnCode: 3 }), false)
      })
    },
    authorizePublish: (client: EdgemqClient | null, packet: AedesPublishPacket, done: (err?: Error | null) => void) => {
      const state = client?.[STATE]
      const problem = checkTopicName(packet.topic, current.limits)
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
      if (isPending(decision)) decision.then((d) => { publishDecided(d, state, msg, packet, client, done) }, (err: Error) => { publishFailed(packet, done, err) })
      else publishDecided(decision, state, msg, packet, client, done)
    },
    authorizeSubscribe: (client: EdgemqClient, sub: Subscription, done: (err: Error | null, sub: Subscription | null) => void) => {
      const state = client[STATE]
      const problem = checkTopicFilter(sub.topic, current.limits)
      if (problem !== undefined) { done(new Error(problem), null); return }
      if (state === undefined) { done(null, null); return }
      void runSubscribeHooks(hooks, state.info, sub.topic, sub.qos).then((decision) => {
        if (!decision.ok) {
          noteRefusedSubscription(sub, decision.reasonCode)
          events.event('subscribe-refused', 'info', 'subscription refused', { ...who(client), filter: sub.topic, reason: decision.reason })
          done(null, null) // SUBACK 0x80 (v3) / 0x87 (v5)
          return
        }
        done(null, sub)
      }, (err: Error) => { done(err, null) })
    },
    authorizeForward: (client: EdgemqClient, packet: AedesPublishPacket) => {
      // aedes's own $SYS/<id>/new/clients etc. carry client ids: never delivered.
      if (packet.topic.startsWith('$SYS/') && packet.topic.startsWith(`$SYS/${aedes.id}/`) && !packet.topic.endsWith('/heartbeat')) return null
      const state = client[STATE]
      if (state === undefined) return packet
      for (const h of hooks.deliver) if (!h(state.info, packet.topic, packet as DeliveryInfo)) return null
      packets.sent[packet.qos]++
      packets.sentBytes[packet.qos] += (packet.payload as Buffer).length
      return packet
    },
    published: (packet: AedesPublishPacket, client: EdgemqClient | null, done: (err?: Error | null) => void) => {
      if (packet.qos > 0 && client !== null && client !== undefined) {
        store.journalDone(client.id, packet).then(() => done(null), (err: Error) => done(err))
        return
      }
      done(null)
    }
  } as unknown as ConstructorParameters<typeof Aedes>[0])

  aedes.on('clientReady', (client: EdgemqClient) => {
    const state = client[STATE]
    // aedes emits clientReady after clientDisconnect when DISCONNECT follows
    // CONNECT at once (mosquitto_pub): a part told "connected" then would keep
    // that client's state for ever (issue 15: per-client maps grew by one per
    // other short-lived client). A client that already left is not announced.
    if (state?.left === true) return
    if (state !== undefined) for (const h of hooks.connected) h(state.info)
    events.event('connect', 'info', 'client connected', { ...who(client), listener: state?.listener, protocol: state?.info.protocolVersion })
  })
  aedes.on('clientDisconnect', (client: EdgemqClient) => {
    const state = client[STATE]
    if (state !== undefined) state.left = true
    if (state !== undefined) for (const h of hooks.disconnected) h(state.info)
    events.event('disconnect', 'info', 'client disconnected', { ...who(client), listener: state?.listener })
  })
  aedes.on('unsubscribe', (filters: string[], client: EdgemqClient) => {
    const state = client?.[STATE]
    if (state !== undefined) for (const f of filters) for (const h of hooks.unsubscribe) h(state.info, f)
  })
  // aedes refuses a packet over limits.maxPacketSize on its fixed header and reports it as an error.
  const onClientError = (client: EdgemqClient | undefined, err: Error & { size?: number, maximumPacketSize?: number }): void => {
    if (err.message === 'packet too large') {
      const info = client?.[STATE]?.info
      for (const h of hooks.packetTooLarge) h(info, err.size ?? 0)
      events.event('packet-too-large', 'warn', 'connection closed: packet too large', { ...who(client), size: err.size, max: err.maximumPacketSize })
      return
    }
    log.debug('client error', { ...who(client), error: err.message })
  }
  aedes.on('clientError', onClientError)
  aedes.on('connectionError', onClientError)
  guardEmitterRecursion((aedes as unknown as { mq: EmitterInternals }).mq)
  // O(1) shift for mqemitter's queue of messages waiting for a slot (src/core/fifo-queue.ts).
  Object.assign((aedes as unknown as { mq: object }).mq, { _messageQueue: new FifoQueue(), _messageCallbacks: new FifoQueue() })
  await aedes.listen()
  const shims = installV5Shims(aedes, {
    logger: log,
    onMalformed: () => { counters.malformedClosed++ },
    mayReceive: (client, topic) => { const s = (client as EdgemqClient)[STATE]; return s === undefined || hooks.readable.every((h) => h(s.info, topic)) }
  })
  installStripWillProperties(aedes) // a will PUBLISH carries no Will Delay Interval (MQTT 5.0 §3.3.2.3)
  installMergeOverlappingDeliveries(aedes) // overlapping subscriptions: one copy at the highest QoS [MQTT-3.3.5-1]
  // One buffer per outgoing 3.1.1 PUBLISH/ack, shared by every subscriber of a QoS 0 message.
  installPublishEncoder(mqttPacket as unknown as Parameters<typeof installPublishEncoder>[0])
  installRefusalReasonCodes(mqttPacket as unknown as Parameters<typeof installRefusalReasonCodes>[0])
  // The Receive Maximum of CONNACK holds for what v5 clients send (0x93 past it) [MQTT-3.3.4-9].
  installEnforceReceiveMaximum(aedes, mqttPacket, { onExceeded: (clientId, max) => { log.info('connection closed: receive maximum exceeded', { client: clientId ?? undefined, max }) } })
  // PUBACK/PUBREC/PUBREL/PUBCOMP that break the protocol close the connection (v5: 0x81/0x82 first).
  installCloseOnBadAcks(aedes, mqttPacket, { onClosed: (clientId, problem) => { counters.malformedClosed++; log.info('connection closed: bad acknowledgement', { client: clientId ?? undefined, reason: problem.reason }) } })
  // CONNECTs the spec refuses: will QoS 3, user name/password without flags, bad protocol level (CONNACK 1), ...
  installCheckConnect(aedes, mqttPacket, { onRefused: (problem) => { counters.malformedClosed++; log.info('connection closed: CONNECT refused', { reason: problem.reason }) } })
  installClearInboundDup(aedes) // a publisher's DUP=1 is not passed on to subscribers [MQTT-3.3.1-3]
  // Topic aliases for v5 clients that allow them (MQTT 5.0 §3.3.2.3.4); last, so it sees each PUBLISH as written.
  installSendTopicAliases(aedes, mqttPacket, () => ({ enabled: current.limits.sendTopicAliases, budget: current.limits.topicAliasBudget }))
  await store.replayJournal(async (packet) => {
    await new Promise<void>((resolve, reject) => aedes.publish(packet as AedesPublishPacket, (err?: Error) => { if (err) reject(err); else resolve() }))
  })

  // Built-in accept rule: the global connection cap (parts add IP rules, bans, rates).
  hooks.accept.push(() => openSockets >= current.limits.maxConnections
    ? { ok: false, reasonCode: 0x97, reason: 'limits.maxConnections reached' }
    : ALLOW)

  const acceptConnection = (listenerConfig: ListenerConfig, peer: { ip: string, port: number }): boolean => {
    const accept = { ip: peer.ip, port: peer.port, listener: listenerConfig.name }
    for (const h of hooks.accept) {
      const d = h(accept)
      if (!d.ok) {
        counters.connectionsRefused++
        log.debug('connection refused at accept', { ip: peer.ip, listener: listenerConfig.name, reason: d.reason })
        return false
      }
    }
    return true
  }
  const handleConnection = (listenerConfig: ListenerConfig, conn: IncomingConnection): void => {
    const accept = { ip: conn.ip, port: conn.port, listener: listenerConfig.name }
    openSockets++
    const client = aedes.handle(conn.stream, undefined as never) as EdgemqClient
    watchClientSubscribes(client)
    conn.socket.once('close', () => {
      openSockets--
      const state = client[STATE]
      if (state !== undefined) state.left = true
      if (state !== undefined) for (const h of hooks.closed) h(state.info)
    })
    // SlowITe without refusing keepalive 0: the kernel probes an idle peer, so a
    // dead one is found within tcpKeepaliveIdle + intvl x probes (docs/security.md).
    conn.socket.setKeepAlive(true, current.limits.tcpKeepaliveIdle)
    const connection = connectionControls(client, conn)
    client[STATE] = {
      listener: listenerConfig.name,
      info: { id: '', ip: conn.ip, port: conn.port, listener: listenerConfig.name, protocolVersion: 4, groups: [], certificate: conn.certificate, overrides: {}, connection }
    }
    for (const h of hooks.opened) h(accept, connection)
  }

  const control = new ControlServer(logger.child('control'))
  const local: LocalBrokerApi = {
    publish: async (msg) => await new Promise<void>((resolve, reject) => {
      aedes.publish({ cmd: 'publish', topic: msg.topic, payload: msg.payload, qos: msg.qos, retain: msg.retain, dup: false, properties: msg.properties } as unknown as AedesPublishPacket, (err?: Error) => { if (err) reject(err); else resolve() })
    }),
    subscribe: async (filter, onMessage) => {
      const fn = (packet: AedesPublishPacket, cb: () => void): void => {
        onMessage({ topic: packet.topic, payload: packet.payload as Buffer, qos: packet.qos, retain: packet.retain, properties: (packet as unknown as { properties?: Record<string, unknown> }).properties })
        cb()
      }
      await new Promise<void>((resolve) => aedes.subscribe(filter, fn, () => resolve()))
      return async () => { await new Promise<void>((resolve) => aedes.unsubscribe(filter, fn, () => resolve())) }
    }
  }
  const handles: PartHandle[] = []
  const partNames: string[] = []
  try {
    for (const attach of parts) handles.push(await attach({ config, hooks, store, logger, control, local, observe }))
    for (const attach of parts) partNames.push(attach.name.replace(/^attach|Part$/g, '').toLowerCase() || 'part')
  } catch (err) {
    // A part that cannot start (an insecure password file) stops the start
    // cleanly: nothing is left open.
    for (const h of [...handles].reverse()) await h.close?.().catch(() => {})
    await new Promise<void>((resolve) => aedes.close(() => resolve()))
    await store.close()
    throw err
  }
  // The last connect rule, a floor under whatever the parts decide: a client
  // nobody authenticated gets in only on a listener that allows anonymous
  // clients (loopback by default). Runs after the parts, so a user the
  // security part verified (password or certificate) has a username by now.
  hooks.connect.push((req) => {
    const identity = checkConnectIdentity({ clientId: req.client.id, username: req.username }, current.limits)
    if (identity !== undefined) return { ok: false, ...identity }
    if (req.client.username !== undefined) return ALLOW
    const listener = current.listeners.find((l) => l.name === req.client.listener)
    return listener?.allowAnonymous === true ? ALLOW : { ok: false, reasonCode: 0x87, reason: 'anonymous clients are not allowed on this listener' }
  })

  // Counts come from the metrics registry (SYS_FROM_METRICS); these are the rest.
  const sys = new SysTopics(local, () => ({
    'connections/malformed': counters.malformedClosed,
    'messages/denied': counters.publishDenied,
    ...prefixKeys('protocol/', shims.stats()),
    ...Object.assign({}, ...handles.map((h) => h.sysValues?.() ?? {})) as Record<string, number | string>
  }), observe.metrics)
  sys.start(config.sys.interval)

  control.register('stats', async () => broker.stats())
  control.register('clients.count', async () => aedes.connectedClients)
  await control.listen(controlSocketPath(config))

  // Listeners open last: no client is served before authentication, the ACL
  // and the limits are in place (a gap of seconds on a slow board).
  const listeners = new Map<string, RunningListener>()
  let storeOpen = true
  registerCoreMetrics(observe, { hooks, packets, counters, openSockets: () => openSockets, storeOpen: () => storeOpen, config: () => current, bound: (name) => listeners.get(name)?.address })
  const startOne = async (l: ListenerConfig): Promise<void> => {
    const running = await startListener(l, {
      accept: (peer) => acceptConnection(l, peer),
      connection: (conn) => { handleConnection(l, conn) },
      request: (req, res) => { observe.handleHttp(l, req, res) },
      tlsError: (ip, reason) => { events.event('tls-handshake-failed', 'warn', 'TLS handshake failed', { ip, listener: l.name, reason }) }
    }, current.limits.maxPacketSize)
    listeners.set(l.name, running)
    log.info('listening', { listener: l.name, type: l.type, host: l.host, port: running.address.port, pid: process.pid })
  }
  try {
    for (const l of config.listeners) await startOne(l)
  } catch (err) {
    sys.stop()
    for (const l of listeners.values()) await l.close()
    await control.close()
    for (const h of [...handles].reverse()) await h.close?.().catch(() => {})
    await new Promise<void>((resolve) => aedes.close(() => resolve()))
    await store.close()
    throw err
  }

  observe.markStarted()

  const broker: EdgemqBroker = {
    get config () { return current },
    hooks,
    control,
    addresses: () => [...listeners.values()].map((l) => ({ name: l.config.name, type: l.config.type, host: l.address.host, port: l.address.port })),
    stats: () => ({ clientsConnected: aedes.connectedClients, openSockets, ...counters, ...store.stats() }),
    reload: async (next) => {
      // Prepare every step, then commit all of them, or refuse and change nothing (src/reload-transaction.ts).
      const old = current
      const core: ReloadStep = {
        name: 'core',
        prepare: async () => {
          const apply = (c: EdgemqConfig): void => {
            current = c
            ;(aedes as unknown as { maximumPacketSize: number }).maximumPacketSize = c.limits.maxPacketSize
            store.setQueueLimits(c)
            log.setLevel(c.logging.level)
          }
          return { commit: () => { apply(next) }, undo: () => { apply(old) } }
        }
      }
      await runReloadTransaction(next, [
        core,
        { name: 'listeners', prepare: async (n) => await prepareListenersReload(listeners, n.listeners, startOne, log) },
        ...handles.map((h, i): ReloadStep => ({ name: partNames[i], prepare: async (n) => await h.prepareReload?.(n) }))
      ], log)
      log.info('config reloaded', { listeners: next.listeners.length, changed: JSON.stringify(old) === JSON.stringify(next) ? 'nothing' : 'yes' })
    },
    close: async () => {
      observe.markStopping()
      sys.stop()
      // 1. stop accepting; 2. aedes closes every client (in-flight writes of
      // the store finish before its close resolves); 3. parts; 4. LevelDB.
      const listenersClosed = Promise.all([...listeners.values()].map(async (l) => { await l.close(2_000) }))
      await control.close()
      await new Promise<void>((resolve) => aedes.close(() => resolve()))
      await listenersClosed
      for (const h of [...handles].reverse()) await h.close?.()
      storeOpen = false
      await store.close()
      log.info('stopped')
    }
  }
  return broker
}


/** {a: 1} → {"<prefix>a": 1}, for $SYS values of a part. */
function prefixKeys (prefix: string, values: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [k, v] of Object.entries(values)) out[prefix + k] = v
  return out
}

/** The parts of mqemitter's queue the guard below touches. */
interface EmitterInternals {
  _do: (message: unknown, callback: unknown) => unknown
  current: number
}

// mqemitter drains its queue recursively: a released delivery slot runs the
// next queued message inside the callback of the last one. Messages whose
// deliveries finish synchronously (no subscriber, a dropped delivery) then
// nest one stack frame set per queued message, and a queue of a few thousand
// (a flood towards a slow subscriber) overflows the stack and kills the
// process (seen in the fan-in benchmark). Past a nesting depth the next message
// runs on the next turn of the event loop instead; its slot is reserved now
// so nothing overtakes it.
const MAX_EMIT_DEPTH = 64

function guardEmitterRecursion (mq: EmitterInternals): void {
  const run = mq._do.bind(mq)
  let depth = 0
  mq._do = function guardedDo (message: unknown, callback: unknown) {
    if (depth >= MAX_EMIT_DEPTH) {
      mq.current++
      setImmediate(() => {
        mq.current--
        run(message, callback)
      })
      return mq
    }
    depth++
    try {
      return run(message, callback)
    } finally {
      depth--
    }
  }
}

/** Socket controls for the parts; v5 clients hear the reason before the close. */
function connectionControls (client: EdgemqClient, conn: IncomingConnection): ClientConnection {
  const socket = conn.socket
  return {
    pause: () => { socket.pause() },
    resume: () => { socket.resume() },
    bytesRead: () => socket.bytesRead,
    bytesWritten: () => socket.bytesWritten,
    pendingWrite: () => socket.writableLength + (conn.stream === socket ? 0 : conn.stream.writableLength),
    close: (reasonCode, reason) => {
      const c = client as unknown as { version?: number, connected?: boolean, disconnect?: (opts: { reasonCode: number, properties?: Record<string, unknown> }, cb: () => void) => void, close: () => void }
      if (c.version === 5 && c.connected === true && typeof c.disconnect === 'function') {
        c.disconnect({ reasonCode, properties: { reasonString: reason } }, () => { c.close() })
      } else {
        c.close()
      }
    }
  }
}

async function runConnectHooks (hooks: BrokerHooks, req: Parameters<BrokerHooks['connect'][number]>[0]): Promise<Decision> {
  for (const h of hooks.connect) {
    const d = await h(req)
    if (!d.ok) return d
  }
  return ALLOW
}



async function runSubscribeHooks (hooks: BrokerHooks, client: ClientInfo, filter: string, qos: number): Promise<Decision> {
  for (const h of hooks.subscribe) {
    const d = await h(client, filter, qos)
    if (!d.ok) return d
  }
  return ALLOW
}
