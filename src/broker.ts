// The composition root: starts the broker as a short list of named steps
// (open the store, build the engine, replay the journal, attach the parts,
// publish $SYS, open the control socket, open the listeners) and stops it
// with one teardown, used when a start fails and by close(). It touches no
// aedes object: the engine (src/engine/) does, and the parts see only the
// hook lists (src/broker-hooks.ts), the store contract and src/part-context.ts.
import { ALLOW, createBrokerHooks, type BrokerHooks } from './broker-hooks.ts'
import type { EdgemqConfig, ListenerConfig } from './config/types.ts'
import { controlSocketPath } from './control/control-path.ts'
import { ControlServer, type ControlRegistry } from './control/control-server.ts'
import { createEngine, type Engine, type EngineCounters } from './engine/create-engine.ts'
import { startListener, type IncomingConnection, type RunningListener } from './listeners/start-listener.ts'
import type { Logger } from './observability/logger.ts'
import { SysTopics } from './observability/sys-topics.ts'
import { Observatory } from './observability/observatory.ts'
import { createPacketCounters, registerCoreMetrics, type PacketCounters } from './observability/core-metrics.ts'
import type { AttachPart, PartContext, PartHandle } from './part-context.ts'
import { createEventLog, type EventLog } from './observability/event-log.ts'
import { REASON } from './reason-codes.ts'
import { runReloadTransaction, type ReloadStep } from './reload-transaction.ts'
import { prepareListenersReload } from './listeners/prepare-listeners-reload.ts'
import { checkConnectIdentity } from './listeners/packet-checks.ts'
import { openStore } from './store.ts'
import type { Store } from './store-contract.ts'

// Parts used to import these from here; they now come from src/part-context.ts.
export type { AttachPart, LocalBrokerApi, PartContext, PartHandle } from './part-context.ts'

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

/** What is shared by the steps: the hook lists, the config in force, the counters. */
interface Core {
  readonly hooks: BrokerHooks
  readonly log: Logger
  /** Metrics, status sections and readiness, read by the observability part. */
  readonly observe: Observatory
  readonly packets: PacketCounters
  config: EdgemqConfig
  openSockets: number
  /** The 'close' listener of every counted socket: one function, not a closure per socket. */
  readonly socketClosed: () => void
  readonly counters: EngineCounters
  /** Connects, disconnects and refusals, rate-limited per kind (src/observability/event-log.ts). */
  readonly events: EventLog
}

/** Everything a start has opened so far; the teardown closes what is here. */
interface Opened {
  store?: Store
  engine?: Engine
  handles: PartHandle[]
  partNames: string[]
  control?: ControlServer
  sys?: SysTopics
  /** false once the teardown closed LevelDB (readiness). */
  storeOpen: boolean
  listeners: Map<string, RunningListener>
}

// Clients get this long to leave on their own when the broker closes.
const CLOSE_GRACE_MS = 2_000

/** Starts the broker from a validated config. */
export async function startBroker (config: EdgemqConfig, logger: Logger, parts: readonly AttachPart[] = []): Promise<EdgemqBroker> {
  const core: Core = { hooks: createBrokerHooks(), log: logger.child('broker'), events: createEventLog(logger.child('broker')), observe: new Observatory(), packets: createPacketCounters(), config, openSockets: 0, socketClosed: () => { core.openSockets-- }, counters: { connectionsRefused: 0, messagesReceived: 0, malformedClosed: 0, publishDenied: 0, oversizeRefused: 0, queueFullRefused: 0 } }
  const opened: Opened = { handles: [], partNames: [], listeners: new Map(), storeOpen: false }
  try {
    const store = opened.store = await openStore(config, logger.child('persistence'))
    opened.storeOpen = true
    const engine = opened.engine = await buildEngine(core, store)
    await replayJournal(store, engine)
    addConnectionCap(core)
    const control = opened.control = new ControlServer(logger.child('control'))
    await attachParts(parts, { config, hooks: core.hooks, store, logger, control, local: engine.local, observe: core.observe }, opened)
    addAnonymousFloor(core)
    opened.sys = startSysTopics(core, engine, store, opened.handles)
    await openControl(control, core, engine, store)
    registerCoreMetrics(core.observe, { hooks: core.hooks, packets: core.packets, counters: core.counters, openSockets: () => core.openSockets, storeOpen: () => opened.storeOpen, inflight: () => engine.outgoingInflight(), config: () => core.config, bound: (name) => opened.listeners.get(name)?.address })
    // Listeners open last: no client is served before authentication, the ACL
    // and the limits are in place (a gap of seconds on a slow board).
    for (const l of config.listeners) await openListener(core, engine, opened.listeners, l)
    core.observe.markStarted()
    countQueues(core, store)
  } catch (err) {
    // A step that fails (an insecure password file, a port in use) stops the
    // start cleanly: everything opened so far is closed, nothing is left open.
    await teardown(opened, 0, core.observe).catch((e: Error) => { core.log.error('teardown after a failed start', { error: e.message }) })
    throw err
  }
  return ready(core, opened)
}

/** Step: the protocol engine over the store, translating its events into the hook lists. */
async function buildEngine (core: Core, store: Store): Promise<Engine> {
  return await createEngine({ config: () => core.config, hooks: core.hooks, store, logger: core.log, counters: core.counters, packets: core.packets, events: core.events })
}

/**
 * Step, once ready: counts the offline queues in the background (the
 * edgemq_offline_queue_* gauges are absent until it is done); a restart with
 * 100k queued messages does not wait for it (issue 11).
 */
function countQueues (core: Core, store: Store): void {
  store.countQueued?.().catch((err: Error) => { core.log.warn('offline queues not counted', { error: err.message }) })
}

/** Step: re-publishes what the incoming journal holds from before a crash. */
async function replayJournal (store: Store, engine: Engine): Promise<void> {
  await store.replayJournal(async (packet) => { await engine.publishStored(packet) })
}

/** Step: the built-in accept rule, the global connection cap (parts add IP rules, bans, rates). */
function addConnectionCap (core: Core): void {
  core.hooks.accept.push(() => core.openSockets >= core.config.limits.maxConnections
    ? { ok: false, reasonCode: REASON.QUOTA_EXCEEDED, reason: 'limits.maxConnections reached' }
    : ALLOW)
}

/** Step: each part in order (security, limits, bridge); `opened.handles` holds the ones attached (for the teardown), `opened.partNames` their names (for reload messages). */
async function attachParts (parts: readonly AttachPart[], ctx: PartContext, opened: Opened): Promise<void> {
  for (const attach of parts) {
    opened.handles.push(await attach(ctx))
    opened.partNames.push(attach.name.replace(/^attach|Part$/g, '').toLowerCase() || 'part')
  }
}

/**
 * Step: the last connect rule, a floor under whatever the parts decide: a
 * client nobody authenticated gets in only on a listener that allows
 * anonymous clients (loopback by default). Added after the parts, so a user
 * the security part verified (password or certificate) has a username by now.
 */
function addAnonymousFloor (core: Core): void {
  core.hooks.connect.push((req) => {
    const identity = checkConnectIdentity({ clientId: req.client.id, username: req.username }, core.config.limits)
    if (identity !== undefined) return { ok: false, ...identity }
    if (req.client.username !== undefined) return ALLOW
    const listener = core.config.listeners.find((l) => l.name === req.client.listener)
    return listener?.allowAnonymous === true ? ALLOW : { ok: false, reasonCode: REASON.NOT_AUTHORIZED, reason: 'anonymous clients are not allowed on this listener' }
  })
}

/** Step: $SYS/broker/ values, the core's and each part's, every sys.interval. */
function startSysTopics (core: Core, engine: Engine, store: Store, handles: readonly PartHandle[]): SysTopics {
  // Counts come from the metrics registry (SYS_FROM_METRICS); these are the rest.
  const sys = new SysTopics(engine.local, () => ({
    'connections/malformed': core.counters.malformedClosed,
    'connections/oversize': core.counters.oversizeRefused,
    'messages/denied': core.counters.publishDenied,
    'messages/refused-queue-full': core.counters.queueFullRefused,
    ...storeSysValues(store.stats()),
    ...prefixKeys('protocol/', engine.protocolStats()),
    ...Object.assign({}, ...handles.map((h) => h.sysValues?.() ?? {})) as Record<string, number | string>
  }), core.observe.metrics)
  sys.start(core.config.sys.interval)
  return sys
}

/** The store's figures an operator watches in $SYS: damage (quarantined, write failures) and loss (queue drops). */
function storeSysValues (s: Record<string, number>): Record<string, number> {
  return {
    'store/quarantined': s.persistenceQuarantined ?? 0,
    'store/write-failures': s.persistenceWriteFailures ?? 0,
    'store/queue-dropped': s.persistenceQueueDropped ?? 0,
    'store/journal-replayed': s.persistenceJournalReplayed ?? 0
  }
}

/** Step: the local control socket (`edgemq ctl`), with the core's commands. */
async function openControl (control: ControlServer, core: Core, engine: Engine, store: Store): Promise<void> {
  control.register('stats', async () => statsOf(core, engine, store))
  control.register('clients.count', async () => engine.connectedClients())
  await control.listen(controlSocketPath(core.config))
}

/** Step: one listener, each accepted connection handed to the engine. */
async function openListener (core: Core, engine: Engine, listeners: Map<string, RunningListener>, l: ListenerConfig): Promise<void> {
  const running = await startListener(l, {
    accept: (peer) => acceptConnection(core, l.name, peer),
    connection: (conn) => { serveConnection(core, engine, l.name, conn) },
    request: (req, res) => { core.observe.handleHttp(l, req, res) },
    maxPacketSize: () => core.config.limits.maxPacketSize,
    tlsError: (ip, reason) => { core.events.event('tls-handshake-failed', 'warn', 'TLS handshake failed', { ip, listener: l.name, reason }) }
  })
  listeners.set(l.name, running)
  core.log.info('listening', { listener: l.name, type: l.type, host: l.host, port: running.address.port, pid: process.pid })
}

/** The accept hooks, on the raw socket: false closes it before any TLS or MQTT byte. */
function acceptConnection (core: Core, listener: string, peer: { ip: string, port: number }): boolean {
  const accept = { ip: peer.ip, port: peer.port, listener }
  for (const h of core.hooks.accept) {
    const d = h(accept)
    if (!d.ok) {
      core.counters.connectionsRefused++
      core.log.debug('connection refused at accept', { ip: peer.ip, listener, reason: d.reason })
      return false
    }
  }
  return true
}

/** Counts the socket, hands it to the engine and tells the parts (opened hooks). */
function serveConnection (core: Core, engine: Engine, listener: string, conn: IncomingConnection): void {
  core.openSockets++
  conn.socket.on('close', core.socketClosed) // comes once; on() spares once()'s per-socket wrapper
  // SlowITe without refusing keepalive 0: the kernel probes an idle peer, so a
  // dead one is found within tcpKeepaliveIdle + intvl x probes (docs/security.md).
  conn.socket.setKeepAlive(true, core.config.limits.tcpKeepaliveIdle)
  const connection = engine.handle(conn, listener)
  // The frame guard refused a packet from its header: the client is closed
  // (a connected v5 client hears DISCONNECT 0x95 first [MQTT-3.2.2-15]).
  conn.frames.onOversize = (size, limit) => {
    core.counters.oversizeRefused++
    const client = engine.clientOf(conn)
    for (const h of core.hooks.packetTooLarge) h(client, size)
    core.events.event('packet-too-large', 'warn', 'connection closed: packet too large', { client: client?.id, user: client?.username, ip: conn.ip, size, max: limit, listener })
    connection.close(REASON.PACKET_TOO_LARGE, `packet of ${size} bytes is over limits.maxPacketSize (${limit})`)
  }
  const accept = { ip: conn.ip, port: conn.port, listener }
  for (const h of core.hooks.opened) h(accept, connection)
}

/** Step: the running broker (reload and close over what the start opened). */
function ready (core: Core, opened: Opened): EdgemqBroker {
  const engine = opened.engine as Engine
  const store = opened.store as Store
  return {
    get config () { return core.config },
    hooks: core.hooks,
    control: opened.control as ControlServer,
    addresses: () => [...opened.listeners.values()].map((l) => ({ name: l.config.name, type: l.config.type, host: l.address.host, port: l.address.port })),
    stats: () => statsOf(core, engine, store),
    reload: async (next) => { await reloadBroker(core, engine, store, opened, next) },
    close: async () => {
      await teardown(opened, CLOSE_GRACE_MS, core.observe)
      core.log.info('stopped')
    }
  }
}

function statsOf (core: Core, engine: Engine, store: Store): Record<string, number> {
  return { clientsConnected: engine.connectedClients(), openSockets: core.openSockets, ...core.counters, ...store.stats() }
}

/**
 * The one teardown, for a failed start and for close(): 1. stop $SYS and
 * accepting (listeners get `graceMs` for their clients to leave); 2. the
 * engine closes every client (the store's in-flight writes finish before it
 * resolves); 3. the parts, last attached first; 4. LevelDB. Every step runs
 * even when an earlier one failed; the first error is thrown at the end.
 */
async function teardown (opened: Opened, graceMs: number, observe?: Observatory): Promise<void> {
  let first: unknown
  const step = async (run: () => Promise<void> | void): Promise<void> => {
    try { await run() } catch (err) { first ??= err }
  }
  observe?.markStopping()
  opened.sys?.stop()
  const listenersClosed = Promise.all([...opened.listeners.values()].map(async (l) => { await step(async () => { await l.close(graceMs) }) }))
  opened.listeners.clear()
  await step(async () => { await opened.control?.close() })
  await step(async () => { await opened.engine?.close() })
  await listenersClosed
  opened.partNames.length = 0
  for (const h of opened.handles.splice(0).reverse()) await step(async () => { await h.close?.() })
  opened.storeOpen = false
  await step(async () => { await opened.store?.close() })
  if (first !== undefined) throw first
}

/**
 * Swaps in a new config: every step (the core settings, the listeners, each
 * part) is prepared, then all are committed, or the reload is refused and
 * nothing changes (src/reload-transaction.ts). Listeners whose settings
 * changed restart; the others keep their clients (new certificates are
 * loaded in place).
 */
async function reloadBroker (core: Core, engine: Engine, store: Store, opened: Opened, next: EdgemqConfig): Promise<void> {
  const old = core.config
  const coreStep: ReloadStep = {
    name: 'core',
    prepare: async () => {
      const apply = (c: EdgemqConfig): void => {
        core.config = c
        engine.setMaxPacketSize(c.limits.maxPacketSize)
        store.setQueueLimits(c)
        core.log.setLevel(c.logging.level)
      }
      return { commit: () => { apply(next) }, undo: () => { apply(old) } }
    }
  }
  const openOne = async (l: ListenerConfig): Promise<void> => { await openListener(core, engine, opened.listeners, l) }
  await runReloadTransaction(next, [
    coreStep,
    { name: 'listeners', prepare: async (n) => await prepareListenersReload(opened.listeners, n.listeners, openOne, core.log) },
    ...opened.handles.map((h, i): ReloadStep => ({ name: opened.partNames[i], prepare: async (n) => await h.prepareReload?.(n) }))
  ], core.log)
  core.log.info('config reloaded', { listeners: next.listeners.length, changed: JSON.stringify(old) === JSON.stringify(next) ? 'nothing' : 'yes' })
}

/** {a: 1} → {"<prefix>a": 1}, for $SYS values of a part. */
function prefixKeys (prefix: string, values: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [k, v] of Object.entries(values)) out[prefix + k] = v
  return out
}
