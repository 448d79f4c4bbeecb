// The limits part: resource governance on the broker hooks. Throttles (token
// buckets applied by holding the client's PUBLISH, so aedes stops reading its
// socket and TCP backpressure slows the sender), per-client caps
// (subscriptions, filters per SUBSCRIBE, retained quota, unreleased QoS 2,
// packet size overrides), QoS 0 shedding for slow consumers, per-listener
// connection caps and rates, and the process-wide memory budget.
import type { AttachPart, PartContext, PartHandle } from '../part-context.ts'
import { ALLOW, deny, type ClientInfo, type Decision, type PublishInfo } from '../broker-hooks.ts'
import type { EdgemqConfig, ListenerConfig } from '../config/types.ts'
import { EdgemqError, ERROR_CODES } from '../errors.ts'
import { REASON } from '../reason-codes.ts'
import { Throttle, parseRates, type ClientRates, type ClientThrottle, type ThrottleSettings } from '../throttle/throttle.ts'
import { MemoryBudget, pickHeaviestClients, type MemoryState } from './memory-budget.ts'
import { createMemoryProbe, effectiveUse, type MemorySample } from './memory-probe.ts'
import { RetainedLedger } from './retained-ledger.ts'
import { readTenantSettings, TenantQuotas, type TenantClient } from './tenant-quotas.ts'
import { UnreleasedQos2 } from './unreleased-qos2.ts'
import type { LimitsCounters } from './limits-counters.ts'
import { readLimitsSettings, readThrottleSettings, type LimitsSettings } from './limits-settings.ts'
import { registerLimitsMetrics } from './limits-metrics.ts'
import { BurstRelease } from './release-after-burst.ts'
import { fullGc } from '../core/full-gc.ts'
import { getHeapStatistics } from 'node:v8'
import { performance } from 'node:perf_hooks'

/** What the deliver hook may be told about the message (the aedes packet fits this shape). */
export interface DeliverInfo { qos: number, payload?: Buffer | string }

/** Hooks the limits part uses when the composition root provides them (see docs/limits.md "wiring"). */
interface OptionalHooks {
  /** UNSUBSCRIBE of one filter. */
  unsubscribe?: Array<(client: ClientInfo, filter: string) => void>
}

/** Per-connection state of the limits part. */
interface ClientState {
  info: ClientInfo
  throttle?: ClientThrottle
  /** After CONNACK: SUBSCRIBEs from the client (not the session restore). */
  ready: boolean
  /** Bytes written to the socket when CONNECT was checked: the CONNACK is the next write. */
  connectBytes?: number
  subscriptions: Set<string>
  /** The tenants (user, capped groups) its subscriptions were counted for (src/limits/tenant-quotas.ts). */
  tenants?: string[]
  /** Filters seen in the SUBSCRIBE being processed (all of one packet arrive in one macrotask). */
  burst: number
  burstReset: boolean
  /** Bytes read since the memory check `readEpoch` (older counts are stale): a flooding publisher is heavy. */
  readSinceCheck: number
  readEpoch: number
  shedQos0: number
}

export type { LimitsCounters } from './limits-counters.ts'

// Longest single hold of one PUBLISH: the rest of a large debt delays the next packets instead, so the
// socket is read (and aedes's keepalive timer sees traffic) at least this often while the rate holds.
const MAX_HOLD_MS = 10_000

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => { setTimeout(resolve, ms).unref() })

/** The limits part's attach function (listed in src/parts.ts). */
export const attachLimits: AttachPart = async (ctx) => await createLimits(ctx)

/** What the release after a burst reads and runs (release-after-burst.ts); injectable for tests. */
export interface ReleaseProbes {
  /** V8's committed heap (bytes). */
  heapCommitted: () => number
  /** Event-loop utilization (0..1) since the previous call. */
  loopUtilization: () => number
  /** Runs one full collection; false when none is available. */
  collect: () => boolean
}

function realReleaseProbes (): ReleaseProbes {
  let previous = performance.eventLoopUtilization()
  return {
    heapCommitted: () => getHeapStatistics().total_heap_size,
    loopUtilization: () => {
      const current = performance.eventLoopUtilization()
      const u = performance.eventLoopUtilization(current, previous).utilization
      previous = current
      return u
    },
    collect: fullGc
  }
}

/** Builds the part; exported with its internals for tests and the control commands. */
export async function createLimits (ctx: PartContext, options: { probe?: () => MemorySample, now?: () => number, release?: ReleaseProbes } = {}): Promise<PartHandle & { counters: LimitsCounters, budget: MemoryBudget, throttle: Throttle, settings: () => LimitsSettings, checkMemory: () => void }> {
  const log = ctx.logger.child('limits')
  const now = options.now ?? (() => performance.now())
  const probe = options.probe ?? createMemoryProbe()
  let config: EdgemqConfig = ctx.config
  let settings = readLimitsSettings(config, probe().cgroupLimit)
  const throttle = new Throttle(readThrottleSettings(config), now)
  const budget = new MemoryBudget({ softMark: settings.memory.softMark, hardMark: settings.memory.hardMark })
  const retained = new RetainedLedger()
  const tenants = new TenantQuotas(readTenantSettings(config))
  const states = new Map<ClientInfo, ClientState>()
  const perListener = new Map<string, number>()
  // Numbers the memory checks: a client's readSinceCheck counts for the check
  // after the one it was started in, so a check need not visit every client to
  // reset it (with 10k idle clients that walk, and a pendingWrite() call per
  // client, took ~4 % of the broker's CPU in a connect storm every 500 ms).
  let checkEpoch = 0
  const counters: LimitsCounters = { refusedMemory: 0, refusedListenerRate: 0, refusedListenerCap: 0, shedQos0: 0, outboundDropped: 0, retainedRefused: 0, subscriptionsRefused: 0, packetTooLarge: 0, qos2Exceeded: 0, qos2Expired: 0, disconnectedHeavy: 0, throttledMs: 0, memoryReleases: 0 }
  const hooks = ctx.hooks
  const optional = hooks as typeof hooks & OptionalHooks
  // Unreleased QoS 2: the engine reports each stored and released message.
  const qos2 = new UnreleasedQos2(now)
  const onQos2Stored = (clientId: string, messageId: number): void => { qos2.stored(clientId, messageId) }
  const onQos2Released = (clientId: string, messageId: number): void => { qos2.released(clientId, messageId) }
  hooks.qos2Stored.push(onQos2Stored)
  hooks.qos2Released.push(onQos2Released)
  const dropQos2 = ctx.store.dropUnreleasedQos2
  const unwatchQos2 = (): void => {
    hooks.qos2Stored.splice(hooks.qos2Stored.indexOf(onQos2Stored) >>> 0, 1)
    hooks.qos2Released.splice(hooks.qos2Released.indexOf(onQos2Released) >>> 0, 1)
  }

  // In the background: attaching must not hold the start (the listeners are already open).
  void seedRetained(ctx, retained, log)

  // Connections whose state was freed: a hook that runs after the client left
  // (aedes emits clientReady after clientDisconnect when DISCONNECT follows
  // CONNECT at once, as mosquitto_pub does; a held PUBLISH resumes late) must
  // not create it again (issue 15: one leaked entry per other mosquitto_pub).
  const gone = new WeakSet<ClientInfo>()
  const stateOf = (info: ClientInfo): ClientState => {
    let s = states.get(info)
    if (s === undefined) {
      s = { info, ready: false, subscriptions: new Set(), burst: 0, burstReset: false, readSinceCheck: 0, readEpoch: 0, shedQos0: 0 }
      if (!gone.has(info)) states.set(info, s) // else: used for this call only
    }
    return s
  }
  const throttleOf = (s: ClientState): ClientThrottle => {
    if (s.throttle === undefined) {
      const o = s.info.overrides.throttle
      const override = o === undefined ? undefined : parseRates(o, 'overrides.throttle')
      s.throttle = throttle.addClient(s.info.id, s.info.listener, s.info.groups, typeof override === 'object' ? override : undefined)
    }
    return s.throttle
  }

  // accept: before any MQTT byte. Cheapest place to refuse under a flood.
  hooks.accept.push((info) => {
    const listener = config.listeners.find((l) => l.name === info.listener)
    // The http listeners stay reachable above the hard mark: that is when the
    // operator needs the status page and Prometheus the figures (each request
    // is rate limited per IP; no MQTT state is made).
    const http = listener?.type === 'http' || listener?.type === 'https'
    if (budget.state === 'hard' && !http) { counters.refusedMemory++; return deny(REASON.SERVER_BUSY, 'memory above memory.hardMark') }
    const cap = listener?.maxConnections
    if (cap !== undefined && (perListener.get(info.listener) ?? 0) >= cap) { counters.refusedListenerCap++; return deny(REASON.QUOTA_EXCEEDED, `listener ${info.listener} at its maxConnections (${cap})`) }
    if (!throttle.acceptConnection(info.listener)) { counters.refusedListenerRate++; return deny(REASON.CONNECTION_RATE_EXCEEDED, `listener ${info.listener} connection rate exceeded`) }
    return ALLOW
  })

  // connect: refuse with a reason the client can read (CONNACK 0x89 / 3.1.1 code 3).
  hooks.connect.push((req): Decision => {
    stateOf(req.client).connectBytes = req.client.connection.bytesWritten()
    if (budget.state === 'ok') return ALLOW
    counters.refusedMemory++
    const used = Math.round(budget.last.used / 1048576)
    return deny(REASON.SERVER_BUSY, `server busy: memory use ${used} MiB is above memory.softMark (${Math.round(budget.marks.softMark / 1048576)} MiB); try again later`)
  })

  // The per-user and per-group offline-queue budgets: a session belongs to its
  // client-id binding's user (asked through hooks.sessionOwner, so offline
  // sessions count too); without a binding (auth.bindClientIds off), to the
  // user connected with that id now. The store asks when it loads a client's
  // queue figures, and at every reload (reshare).
  const connectedUser = new Map<string, ClientInfo>()
  const sessionOwnerOf = (clientId: string): TenantClient | undefined => {
    for (const h of hooks.sessionOwner) { const o = h(clientId); if (o !== undefined) return o }
    const info = connectedUser.get(clientId)
    return info?.username === undefined ? undefined : info
  }
  ctx.store.queueBudgets?.set((clientId) => tenants.queueBudgetsOf(sessionOwnerOf(clientId)))

  hooks.connected.push((info) => {
    if (gone.has(info)) return
    if (info.username !== undefined) connectedUser.set(info.id, info)
    const s = stateOf(info)
    s.ready = true
    throttleOf(s)
    perListener.set(info.listener, (perListener.get(info.listener) ?? 0) + 1)
  })

  // Freed at the first of: aedes's disconnect, a refused CONNECT, the socket's
  // close (always comes, also for a CONNECT that never finished). What stays
  // is what a configured per-client setting needs: `throttle.set client=ID`
  // rates (until cleared) and the retained quota of stored messages.
  const release = (info: ClientInfo): void => {
    gone.add(info)
    if (connectedUser.get(info.id) === info) connectedUser.delete(info.id)
    const s = states.get(info)
    if (s === undefined) return
    states.delete(info)
    tenants.countSubscriptions(s.tenants ?? [], -s.subscriptions.size)
    if (s.throttle !== undefined) {
      counters.outboundDropped += s.throttle.outboundDropped
      throttle.removeClient(s.throttle)
    }
    qos2.forgetAdmitted(info.id)
    if (s.ready) perListener.set(info.listener, Math.max(0, (perListener.get(info.listener) ?? 1) - 1))
  }
  hooks.disconnected.push(release)
  hooks.connectFailed.push((req) => { release(req.client) })
  hooks.closed.push(release)
  // The global limit is enforced by aedes on the fixed header; counted here with the per-client one.
  hooks.packetTooLarge.push(() => { counters.packetTooLarge++ })

  hooks.publish.push((info, msg) => onPublish(info, msg))

  // Synchronous unless the throttle holds the message: no promise per PUBLISH on the hot path.
  function onPublish (info: ClientInfo, msg: PublishInfo): Decision | Promise<Decision> {
    if (msg.isWill) return checkRetained(info, msg) // a will is published for a client that has gone
    const s = stateOf(info)
    // Charged by the PUBLISH's own size: bytesRead moves by whole socket reads (64 KiB), not per packet.
    const bytes = wireSize(msg)
    if (s.readEpoch !== checkEpoch) { s.readEpoch = checkEpoch; s.readSinceCheck = 0 }
    s.readSinceCheck += bytes
    // Per-client packet size below the global one (the global one aedes checks on the fixed header).
    const max = info.overrides.maxPacketSize
    if (typeof max === 'number' && max > 0) {
      if (bytes > max) {
        counters.packetTooLarge++
        info.connection.close(REASON.PACKET_TOO_LARGE, `packet of ${bytes} bytes is larger than this client's maximum packet size ${max}`)
        return deny(REASON.PACKET_TOO_LARGE, `packet too large for this client (${bytes} > ${max})`)
      }
    }
    // Throttle: hold this PUBLISH; aedes reads the socket again only when every packet of the last read
    // is handled, so the socket stays unread, the kernel buffer fills and TCP flow control slows the sender.
    const wait = Math.min(throttle.chargeInbound(throttleOf(s), bytes), MAX_HOLD_MS)
    if (wait > 0) {
      const t = throttleOf(s)
      info.connection.pause()
      return sleep(wait).then(() => {
        info.connection.resume()
        t.pausedMs += wait
        counters.throttledMs += wait
        return afterThrottle(info, msg)
      })
    }
    return afterThrottle(info, msg)
  }

  function afterThrottle (info: ClientInfo, msg: PublishInfo): Decision {
    if (msg.qos === 2 && settings.maxUnreleasedQos2 > 0) {
      if (qos2.count(info.id) >= settings.maxUnreleasedQos2) {
        counters.qos2Exceeded++
        // [MQTT-3.3.4-8] more unacknowledged QoS 2 than allowed: DISCONNECT 0x93 Receive Maximum exceeded.
        info.connection.close(REASON.RECEIVE_MAXIMUM_EXCEEDED, `more than limits.maxUnreleasedQos2 (${settings.maxUnreleasedQos2}) QoS 2 messages without PUBREL`)
        return deny(REASON.RECEIVE_MAXIMUM_EXCEEDED, 'too many unreleased QoS 2 messages')
      }
      // counted now; the engine's qos2Stored hook says when it is in the store
      qos2.admit(info.id)
    }
    return checkRetained(info, msg)
  }

  function checkRetained (info: ClientInfo, msg: PublishInfo): Decision {
    if (!msg.retain) return ALLOW
    const owner = info.id === '' ? undefined : info.id
    const problem = retained.check(msg.topic, msg.payload.length, owner, {
      maxMessages: settings.maxRetainedMessages,
      maxBytes: settings.maxRetainedBytes,
      maxMessagesPerClient: settings.maxRetainedMessagesPerClient,
      maxBytesPerClient: settings.maxRetainedBytesPerClient
    }, budget.state !== 'ok') ?? tenants.checkRetained(msg.topic, msg.payload.length, info)
    if (problem !== undefined) {
      counters.retainedRefused++
      log.info('retained message refused', { client: info.id, topic: msg.topic, reason: problem })
      return deny(REASON.QUOTA_EXCEEDED, problem)
    }
    retained.apply(msg.topic, msg.payload.length, owner)
    tenants.applyRetained(msg.topic, msg.payload.length, info)
    return ALLOW
  }

  optional.unsubscribe?.push((info, filter) => {
    const s = states.get(info)
    if (s?.subscriptions.delete(filter) === true) tenants.countSubscriptions(s.tenants ?? [], -1)
  })

  // Filters per SUBSCRIBE: first in the list, so it runs synchronously for every filter of a packet
  // (aedes authorizes them all in one loop); the count resets in the microtask after that loop.
  // Packets that arrive in the same socket read are counted together, which only errs strict.
  hooks.subscribe.unshift((info) => {
    const s = stateOf(info)
    if (settings.maxFiltersPerSubscribe <= 0) return ALLOW
    // Subscriptions restored at CONNECT come before the CONNACK is written: not capped per packet.
    // aedes reports the client ready only later, so "something was written since CONNECT" decides.
    if (!s.ready && (s.connectBytes === undefined || info.connection.bytesWritten() <= s.connectBytes)) return ALLOW
    if (!s.burstReset) { s.burstReset = true; queueMicrotask(() => { s.burst = 0; s.burstReset = false }) }
    if (++s.burst > settings.maxFiltersPerSubscribe) {
      counters.subscriptionsRefused++
      return deny(REASON.QUOTA_EXCEEDED, `more than limits.maxFiltersPerSubscribe (${settings.maxFiltersPerSubscribe}) filters in one SUBSCRIBE`)
    }
    return ALLOW
  })

  // Filters per client: last, so a filter the ACL refuses is not counted.
  hooks.subscribe.push((info, filter) => {
    const s = stateOf(info)
    if (!s.subscriptions.has(filter)) {
      if (settings.maxSubscriptionsPerClient > 0 && s.subscriptions.size >= settings.maxSubscriptionsPerClient) {
        counters.subscriptionsRefused++
        return deny(REASON.QUOTA_EXCEEDED, `client holds limits.maxSubscriptionsPerClient (${settings.maxSubscriptionsPerClient}) filters`)
      }
      const tenantProblem = tenants.checkSubscription(info)
      if (tenantProblem !== undefined) {
        counters.subscriptionsRefused++
        return deny(REASON.QUOTA_EXCEEDED, tenantProblem)
      }
      s.subscriptions.add(filter)
      s.tenants ??= tenants.tenantsOf(info)
      tenants.countSubscriptions(s.tenants, 1)
    }
    return ALLOW
  })

  // deliver: QoS 0 may be dropped, QoS 1/2 never here (they are queued and paced by the receive maximum).
  const deliver = (info: ClientInfo, _topic: string, packet?: DeliverInfo): boolean => {
    if (packet === undefined || packet.qos !== 0) return true
    const pending = info.connection.pendingWrite()
    const slow = pending > settings.memory.slowConsumerBytes
    if ((settings.maxQueuedBytes > 0 && pending > settings.maxQueuedBytes) || (slow && budget.state !== 'ok')) {
      counters.shedQos0++
      const s = states.get(info)
      if (s !== undefined) s.shedQos0++
      return false
    }
    const s = states.get(info)
    if (s?.throttle !== undefined) {
      const bytes = packet.payload === undefined ? 0 : typeof packet.payload === 'string' ? Buffer.byteLength(packet.payload) : packet.payload.length
      if (!throttle.chargeOutbound(s.throttle, bytes + _topic.length + 4)) return false
    }
    return true
  }
  hooks.deliver.push(deliver)

  // After a burst, one full collection on a quiet loop, so that V8 gives the
  // heap back (release-after-burst.ts): it keeps a burst's heap otherwise.
  const burst = new BurstRelease()
  const probes = options.release ?? realReleaseProbes()
  let collectorMissing = false
  const releaseAfterBurst = (): void => {
    const t = now()
    if (!burst.observe(t, probes.heapCommitted(), probes.loopUtilization())) return
    const before = probes.heapCommitted()
    const started = performance.now()
    const ran = probes.collect()
    burst.released(t, probes.heapCommitted())
    if (!ran) {
      if (!collectorMissing) log.warn('memory.releaseAfterBurst: this Node offers no garbage collection on demand; the heap a burst grew stays until V8 collects on its own')
      collectorMissing = true
      return
    }
    counters.memoryReleases++
    log.debug('heap released after a burst', { heapMiB: (before / 1048576).toFixed(1), afterMiB: (probes.heapCommitted() / 1048576).toFixed(1), pauseMs: (performance.now() - started).toFixed(1) })
  }

  // The memory budget: read on a timer, never per packet.
  let lastState: MemoryState = 'ok'
  let lastSample: MemorySample | undefined
  const checkMemory = (): void => {
    const sample = probe()
    lastSample = sample
    const reading = budget.update(effectiveUse(sample, settings.memory.capBytes))
    if (reading.state !== lastState) {
      const fields = { state: reading.state, usedMiB: (reading.used / 1048576).toFixed(1), rssMiB: (sample.rss / 1048576).toFixed(1), softMiB: (budget.marks.softMark / 1048576).toFixed(1), hardMiB: (budget.marks.hardMark / 1048576).toFixed(1) }
      if (reading.state === 'ok') log.info('memory back below the soft mark', fields)
      else log.warn(`memory above the ${reading.state} mark`, fields)
      lastState = reading.state
    }
    // Unreleased QoS 2 past their expiry are dropped from the store.
    for (const { clientId, messageId } of qos2.expire(settings.qos2Expiry)) {
      counters.qos2Expired++
      void dropQos2(clientId, messageId).catch(() => {})
    }
    if (config.memory.releaseAfterBurst) releaseAfterBurst()
    const epoch = checkEpoch++
    if (reading.state === 'hard') {
      // Only above the hard mark are the clients weighed (O(clients) per reading).
      const heavy = [...states.values()].map((s) => ({ id: s.info.id, weight: s.info.connection.pendingWrite() + (s.readEpoch === epoch ? s.readSinceCheck : 0), s }))
      // Disconnect at most a tenth of the clients per reading; the next reading sees what that freed.
      const victims = pickHeaviestClients(heavy, Math.max(reading.excess, 1), Math.max(1, Math.ceil(heavy.length / 10)))
      for (const v of victims) {
        const s = heavy.find((h) => h.id === v.id)?.s
        if (s === undefined) continue
        counters.disconnectedHeavy++
        log.warn('client disconnected: memory above the hard mark', { client: v.id, ip: s.info.ip, weightBytes: v.weight })
        s.info.connection.close(REASON.QUOTA_EXCEEDED, 'disconnected: broker memory above its hard mark and this client held the most')
      }
    }
  }
  if (ctx.observe !== undefined) registerLimitsMetrics(ctx.observe, { counters, budget, retained, throttle, capBytes: () => settings.memory.capBytes, sample: () => lastSample })
  let timer = setInterval(checkMemory, settings.memory.checkInterval)
  timer.unref()
  checkMemory()

  const snapshot = (): Record<string, unknown> => ({
    memory: { ...budget.last, softMark: budget.marks.softMark, hardMark: budget.marks.hardMark, capBytes: settings.memory.capBytes, entered: budget.entered, sample: lastSample },
    retained: { count: retained.count, bytes: retained.bytes },
    clients: states.size,
    counters: { ...counters, outboundDropped: counters.outboundDropped + [...throttle.clients()].reduce((n, c) => n + c.outboundDropped, 0) },
    limits: { ...settings, memory: undefined }
  })
  ctx.control.register('limits.get', async () => snapshot())
  ctx.control.register('throttle.get', async (args) => throttleSnapshot(throttle, args))
  ctx.control.register('throttle.set', async (args) => {
    applyThrottleSet(throttle, args, config.listeners)
    log.info('throttle changed over the control socket', { args: JSON.stringify(args) })
    return throttleSnapshot(throttle, typeof args.client === 'string' ? { client: args.client } : {})
  })

  const applySettings = (next: EdgemqConfig, nextSettings: LimitsSettings, nextThrottle: ThrottleSettings): void => {
    const interval = settings.memory.checkInterval
    config = next
    settings = nextSettings
    tenants.update(readTenantSettings(next))
    // users' groups (the security part committed first) or group caps may have changed
    ctx.store.queueBudgets?.reshare()
    throttle.update(nextThrottle)
    budget.setMarks({ softMark: settings.memory.softMark, hardMark: settings.memory.hardMark })
    if (settings.memory.checkInterval !== interval) {
      clearInterval(timer)
      timer = setInterval(checkMemory, settings.memory.checkInterval)
      timer.unref()
    }
  }

  return {
    counters,
    budget,
    throttle,
    settings: () => settings,
    checkMemory,
    // Reload, first half (src/reload-transaction.ts): read and check, apply nothing.
    prepareReload: async (next) => {
      const nextSettings = readLimitsSettings(next, probe().cgroupLimit)
      const nextThrottle = readThrottleSettings(next)
      const unknown = unknownThrottleListeners(Object.keys(nextThrottle.listeners), next.listeners)
      if (unknown !== undefined) throw new EdgemqError(ERROR_CODES.CONFIG_INVALID, unknown)
      const before = { config, settings, throttle: throttle.settings }
      return {
        commit: () => { applySettings(next, nextSettings, nextThrottle) },
        undo: () => { applySettings(before.config, before.settings, before.throttle) }
      }
    },
    close: async () => { clearInterval(timer); unwatchQos2() }
  }
}

/** Size of a PUBLISH on the wire, without v5 properties: fixed header, topic, packet id, payload. */
function wireSize (msg: PublishInfo): number {
  const body = 2 + Buffer.byteLength(msg.topic) + (msg.qos > 0 ? 2 : 0) + msg.payload.length
  return 1 + (body < 128 ? 1 : body < 16_384 ? 2 : body < 2_097_152 ? 3 : 4) + body
}

/** `throttle.get [client=ID]`: settings, control-socket rates, and each client's rates. */
function throttleSnapshot (throttle: Throttle, args: Record<string, unknown>): Record<string, unknown> {
  const one = typeof args.client === 'string' ? args.client : undefined
  const clients = [...throttle.clients()].filter((c) => one === undefined || c.id === one).slice(0, 1000).map((c) => ({
    id: c.id, listener: c.listener, source: c.source, rates: c.rates, pausedMs: Math.round(c.pausedMs), outboundDropped: c.outboundDropped
  }))
  return { settings: throttle.settings, controlRates: Object.fromEntries(throttle.controlRates()), clients }
}

/**
 * `throttle.set` over the control socket: `client=ID` sets that client's rates
 * (kept across reconnects and reloads; `clear=true` removes them), `group=NAME`,
 * `listener=NAME` or `scope=global|client` change the configured rates until
 * the next reload (put them in the config file to keep them).
 */
function applyThrottleSet (throttle: Throttle, args: Record<string, unknown>, listeners: readonly ListenerConfig[]): void {
  const { client, group, listener, scope, clear, ...rest } = args
  const fail = (m: string): never => { throw new Error(`throttle.set: ${m} (example: edgemq ctl throttle.set client=sensor-1 inboundBytesPerSecond=10000)`) }
  const s = throttle.settings
  if (typeof listener === 'string') {
    const unknown = unknownThrottleListeners([listener], listeners)
    if (unknown !== undefined) fail(unknown)
    const r: Record<string, number> = { ...s.listeners[listener] }
    for (const [k, v] of Object.entries(rest)) {
      if (!['inboundBytesPerSecond', 'inboundMessagesPerSecond', 'connectionRate', 'connectionBurst'].includes(k) || typeof v !== 'number' || v < 0) fail(`listener rate ${k}=${String(v)} is not one of inboundBytesPerSecond, inboundMessagesPerSecond, connectionRate, connectionBurst >= 0`)
      r[k] = v as number
    }
    throttle.update({ ...s, listeners: { ...s.listeners, [listener]: r } })
    return
  }
  if (typeof scope === 'string' && scope === 'global') {
    const g = { ...s.global }
    for (const [k, v] of Object.entries(rest)) {
      if ((k !== 'inboundBytesPerSecond' && k !== 'inboundMessagesPerSecond') || typeof v !== 'number' || v < 0) fail(`global rate ${k}=${String(v)} is not inboundBytesPerSecond or inboundMessagesPerSecond >= 0`)
      g[k as keyof typeof g] = v as number
    }
    throttle.update({ ...s, global: g })
    return
  }
  const rates = parseRates(rest, 'rates')
  if (typeof rates === 'string') fail(rates)
  if (typeof client === 'string') {
    throttle.setControlRates(client, clear === true ? undefined : rates as Partial<ClientRates>)
  } else if (typeof group === 'string') {
    throttle.update({ ...s, groups: { ...s.groups, [group]: { ...s.groups[group], ...(rates as Partial<ClientRates>) } } })
  } else if (scope === 'client') {
    throttle.update({ ...s, client: { ...s.client, ...(rates as Partial<ClientRates>) } })
  } else {
    fail('say what to change: client=ID, group=NAME, listener=NAME, scope=client or scope=global')
  }
}

/** A problem when a throttle rate names a listener the config does not have (a typo would silently rate nothing), else undefined. */
export function unknownThrottleListeners (names: readonly string[], listeners: readonly ListenerConfig[]): string | undefined {
  const known = listeners.map((l) => l.name)
  const unknown = names.filter((n) => !known.includes(n))
  if (unknown.length === 0) return undefined
  return `throttle.listeners names ${unknown.map((n) => `"${n}"`).join(', ')}, not a listener of this config: use one of ${known.join(', ')}`
}

/** Counts the retained messages already in the store (their owners are unknown after a restart). */
async function seedRetained (ctx: PartContext, ledger: RetainedLedger, log: PartContext['logger']): Promise<void> {
  try {
    for await (const packet of ctx.store.retainedMessages('#')) ledger.apply(packet.topic, packet.payload?.length ?? 0, undefined)
  } catch (err) {
    log.warn('cannot count stored retained messages', { error: (err as Error).message })
  }
}
