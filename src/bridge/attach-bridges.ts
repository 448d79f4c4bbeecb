// The bridge part's one entry point. The composition root calls
// attachBridges once; it registers the beforeAck hook that queues outbound
// messages, the `bridges.status` control command, and starts every bridge.
// A reload rebuilds only the bridges whose settings changed; their queues
// stay on disk under their names.
import { EdgemqError, ERROR_CODES } from '../errors.ts'
import type { BrokerHooks, ClientInfo, PublishInfo } from '../broker-hooks.ts'
import type { EdgemqConfig } from '../config/types.ts'
import type { Logger } from '../observability/logger.ts'
import { loadTopicSealer } from '../crypto/topic-sealer.ts'
import type { Bridge, BridgeStatus, SealBinding } from './bridge.ts'
import { readBridgeSecrets, toBridgeSpecs, type BridgeSpec } from './bridge-config.ts'
import type { PreparedReload } from '../reload-transaction.ts'
import { BridgeQueue } from './bridge-queue.ts'
import { GroupCommitWriter, type BridgeStore } from './bridge-store.ts'
import type { LocalBroker } from './local-broker.ts'
import type { SealRuleConfig, TopicSealer } from '../crypto/topic-sealer.ts'

/** What attachBridges is given by the composition root. */
export interface BridgesContext {
  config: EdgemqConfig
  hooks: BrokerHooks
  local: LocalBroker
  /** persistence.sublevel('bridge'): utf8 keys, buffer values. */
  store: BridgeStore
  logger: Logger
  control?: { register: (command: string, handler: (args: Record<string, unknown>) => Promise<unknown>) => void }
  /** Monotonic clock, ms (tests). */
  now?: () => number
  /** Wall clock, ms (tests). */
  wallNow?: () => number
  random?: () => number
  /** Builds a seal rule's sealer; default loads its key files (src/crypto). */
  loadSealer?: (rule: SealRuleConfig) => Promise<TopicSealer>
}

/** What the composition root keeps. */
export interface BridgesHandle {
  /** Applies a new config: changed bridges restart, removed ones stop, new ones start. Throws (changing nothing) on a bad config or unreadable file. */
  reload: (config: EdgemqConfig) => Promise<void>
  /** The first half of a reload: checks every spec and reads every file, changes nothing. */
  prepareReload: (config: EdgemqConfig) => Promise<PreparedReload>
  /** Stops every bridge and flushes queue writes. */
  close: () => Promise<void>
  /** The state of every bridge, for $SYS and `edgemq ctl bridges`. */
  status: () => BridgeStatus[]
}

interface Running {
  bridge: Bridge
  queue: BridgeQueue
  /** The spec as JSON: a reload restarts the bridge only when this changes. */
  fingerprint: string
}

/** Attaches the bridges of `ctx.config` to the broker. */
export async function attachBridges (ctx: BridgesContext): Promise<BridgesHandle> {
  const log = ctx.logger.child('bridge')
  const now = ctx.now ?? (() => performance.now())
  const wallNow = ctx.wallNow ?? (() => Date.now())
  const random = ctx.random ?? Math.random
  const loadSealer = ctx.loadSealer ?? loadTopicSealer
  const persistence = ctx.config.persistence
  const writer = new GroupCommitWriter(ctx.store, { sync: persistence.sync, syncInterval: persistence.syncInterval, now })
  let bridges = new Map<string, Running>()
  let closed = false

  const prepare = async (spec: BridgeSpec): Promise<{ spec: BridgeSpec, build: () => Promise<Running> }> => {
    // Read every file first: a missing password or key fails the reload before anything stops.
    const secrets = await readBridgeSecrets(spec)
    const seals: SealBinding[] = []
    for (const rule of spec.seal) {
      try {
        seals.push({ topics: rule.topics, sealer: await loadSealer(rule) })
      } catch (err) {
        throw new EdgemqError(ERROR_CODES.BRIDGE_FAILED, `bridge ${spec.name}: seal rule for ${rule.topics.join(', ')}: ${(err as Error).message}`, { cause: err })
      }
    }
    return {
      spec,
      build: async () => {
        const existing = bridges.get(spec.name)
        const queue = existing?.queue ?? await BridgeQueue.open(spec.name, ctx.store, writer, spec.queue, log)
        queue.setLimits(spec.queue)
        // the bridge and its MQTT.js client are loaded by the first bridge only: most configs have none
        const { Bridge } = await import('./bridge.ts')
        const bridge = new Bridge({ spec, secrets, queue, local: ctx.local, logger: log, seals, now, wallNow, random })
        return { bridge, queue, fingerprint: JSON.stringify(spec) }
      }
    }
  }

  // Reload, first half (src/reload-transaction.ts): every spec checked and
  // every file read; the commit swaps the bridges.
  const prepareReload = async (config: EdgemqConfig): Promise<PreparedReload> => {
    const specs = toBridgeSpecs(config)
    const prepared: Array<Awaited<ReturnType<typeof prepare>> | undefined> = []
    for (const spec of specs) {
      const current = bridges.get(spec.name)
      if (current !== undefined && current.fingerprint === JSON.stringify(spec)) { prepared.push(undefined); continue }
      prepared.push(await prepare(spec))
    }
    return { commit: async () => { await swap(specs, prepared) } }
  }

  const apply = async (config: EdgemqConfig): Promise<void> => { await (await prepareReload(config)).commit() }

  const swap = async (specs: BridgeSpec[], prepared: Array<Awaited<ReturnType<typeof prepare>> | undefined>): Promise<void> => {
    // Everything read and valid: now swap.
    const next = new Map<string, Running>()
    for (let i = 0; i < specs.length; i++) {
      const name = specs[i].name
      const p = prepared[i]
      const current = bridges.get(name)
      if (p === undefined && current !== undefined) { next.set(name, current); continue }
      if (current !== undefined) await current.bridge.stop()
      const running = await p!.build()
      next.set(name, running)
      running.bridge.start()
      log.info('bridge started', { bridge: name, urls: specs[i].urls.join(','), enabled: specs[i].enabled, queued: running.queue.count })
    }
    for (const [name, r] of bridges) {
      if (next.has(name)) continue
      await r.bridge.stop()
      r.queue.close()
      log.info('bridge removed; its queue stays on disk until a bridge of that name is configured again', { bridge: name, queued: r.queue.count })
    }
    bridges = next
  }

  await apply(ctx.config)

  const hook = (_client: ClientInfo | undefined, msg: PublishInfo): Promise<void> | undefined => {
    // no bridge: nothing to wait for, the publish path stays synchronous
    if (closed || bridges.size === 0) return undefined
    // Every bridge whose out rule matches gets the message; all writes share one batch.
    const work: Array<Promise<void>> = []
    for (const r of bridges.values()) work.push(r.bridge.offer(msg))
    return Promise.all(work).then(() => {})
  }
  ctx.hooks.beforeAck.push(hook)

  const status = (): BridgeStatus[] => [...bridges.values()].map((r) => r.bridge.status())
  // `edgemq ctl bridges` (the name) and `edgemq ctl bridges.status` (the dotted family style) answer the same.
  ctx.control?.register('bridges.status', async () => status())
  ctx.control?.register('bridges', async () => status())

  return {
    reload: apply,
    prepareReload,
    status,
    close: async () => {
      closed = true
      const i = ctx.hooks.beforeAck.indexOf(hook)
      if (i >= 0) ctx.hooks.beforeAck.splice(i, 1)
      for (const r of bridges.values()) { await r.bridge.stop(); r.queue.close() }
      await writer.flush()
      writer.close()
    }
  }
}
