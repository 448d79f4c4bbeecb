// The Store of src/store.ts backed by LevelPersistence, so the composition root
// switches from its placeholder with one line: `export { openLevelStore as openStore }`.
import { statfs } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import type { EdgemqConfig } from '../config/types.ts'
import { readLimitsSettings } from '../limits/limits-settings.ts'
import { createMemoryProbe } from '../limits/memory-probe.ts'
import type { Logger } from '../observability/logger.ts'
import type { Store, Sublevel } from '../store-contract.ts'
import { createLevelPersistence, type LevelPersistence } from './level-persistence.ts'
import type { StoredPacket } from './record-codec.ts'
import type { ValueCipher } from './store-context.ts'

/** A Store whose persistence is reachable (durable writes of sublevels, sizes). */
export type LevelStore = Store & { persistence: LevelPersistence }

/** Opens (repairing or replacing a damaged store) the LevelDB at config.persistence.path. */
export async function openLevelStore (config: EdgemqConfig, logger: Logger, options: { valueCipher?: ValueCipher } = {}): Promise<LevelStore> {
  const partition = await partitionBytes(config.persistence.path)
  // under a memory cgroup smaller than the board's cap the soft mark is lower, and so is the store-wide default
  const cgroupLimit = createMemoryProbe()().cgroupLimit
  const caps = queueLimitsOf(config, partition, cgroupLimit)
  logger.info('offline queue bounds', { maxBytesPerClient: caps.maxBytes, maxMessagesPerClient: caps.maxMessages, maxMessagesTotal: caps.maxTotalMessages, partitionBytes: partition, source: config.persistence.maxQueuedBytes === undefined ? `${config.persistence.queueDiskShare}% of the data partition, at least 128 MB` : 'persistence.maxQueuedBytes' })
  const p = createLevelPersistence({ ...config.persistence, logger, valueCipher: options.valueCipher, maxQueuedMessages: caps.maxMessages, maxQueuedBytes: caps.maxBytes, maxQueuedMessagesTotal: caps.maxTotalMessages, refuseNewWhenFull: caps.refuseNew })
  await p.ready()
  return {
    persistence: p,
    aedesPersistence: p,
    sublevel: (name) => p.sublevel(name, { valueEncoding: 'buffer' }) as unknown as Sublevel,
    syncMode: config.persistence.sync,
    journalIncoming: async (clientId, packet) => { await p.journalIncoming(clientId, packet as StoredPacket) },
    beginJournal: (clientId, packet) => p.beginJournal(clientId, packet as StoredPacket),
    needsJournal: (packet) => p.needsJournal(packet.topic, packet.qos, packet.retain),
    ackAfterStore: (packet) => p.ackAfterStore(packet.topic, packet.qos, packet.retain),
    routesOffline: (packet) => p.routesOffline(packet as StoredPacket),
    offlineSubscriptions: (topic) => p.offlineSubscriptions(topic),
    setConnectionCheck: (isOpen) => { p.isConnectionOpen = isOpen },
    // the stored record is the payload, the topic and ~60 bytes of header (docs/persistence.md)
    queueFull: (packet) => p.queueFull(packet.topic, byteLength(packet.payload) + packet.topic.length + 64, typeof packet.payload === 'object' && packet.payload !== null ? packet.payload : undefined),
    journalDone: (clientId, packet) => p.journalDone(clientId, packet as StoredPacket),
    setOrphanWillCheck: (check) => { p.orphanWillCheck = (will) => check({ clientId: will.clientId, topic: will.topic as string, payload: will.payload, qos: will.qos as number, retain: will.retain === true }) },
    replayJournal: async (publish) => { await p.replayJournal(publish) },
    sessions: {
      hasSession: (clientId) => p.hasSession(clientId),
      rememberSession: async (clientId, expiry) => { await p.rememberSession(clientId, expiry) },
      sessionClosed: async (clientId, at) => { await p.sessionClosed(clientId, at) },
      sessionDeadlines: () => p.sessionDeadlines(),
      endSession: async (clientId) => { await p.endSession(clientId) }
    },
    dropUnreleasedQos2: async (clientId, messageId) => { await p.incomingDelPacket({ id: clientId }, { messageId }) },
    retainedMessages: (filter) => p.createRetainedStream(filter) as AsyncIterable<{ topic: string, payload?: Buffer }>,
    stats: () => {
      const s = p.stats()
      return {
        persistenceSubscriptions: s.subscriptions,
        persistenceClients: s.persistentClients,
        persistenceJournalPending: s.journalPending,
        persistenceJournalReplayed: s.journalReplayed,
        persistenceQuarantined: s.quarantined,
        persistenceQueueDropped: s.queueDropped,
        persistenceQueueDroppedByQuota: s.queueDroppedByQuota,
        ...(s.queuedMessages === undefined ? {} : { persistenceQueuedMessages: s.queuedMessages, persistenceQueuedBytes: s.queuedBytes ?? 0 }),
        persistenceWriteBatches: s.writeBatches,
        persistenceWriteOps: s.writeOps,
        persistenceReadIterators: s.readIterators,
        persistenceReadGets: s.readGets,
        persistenceSyncs: s.syncs,
        persistenceWriteFailures: s.writeFailures,
        persistenceSyncSeconds: s.syncSeconds,
        persistenceLastSyncSeconds: s.lastSyncSeconds,
        persistenceLastSyncAt: s.lastSyncAt ?? 0
      }
    },
    countQueued: async () => { await p.countQueued() },
    queueBudgets: { set: (budgetsOf) => { p.setQueueShares(budgetsOf) }, reshare: () => { p.reshareQueues() } },
    setQueueLimits: (next) => { p.setQueueLimits(queueLimitsOf(next, partition, cgroupLimit)) },
    close: async () => { await p.close() }
  }
}

/** The floor of the default offline-queue byte cap: an hour of 100 msg/s with 100-byte payloads is about 79 MB on disk (~220 bytes per queued message, docs/persistence.md). */
export const QUEUE_BYTES_FLOOR = 128 * 1024 * 1024

/**
 * What one queued message costs in memory, for the default store-wide cap: 12
 * bytes of sequence and size (seq-sizes.ts), room for its client's arrays to
 * grow, and malloc's share. Measured: 500k queued over 500 clients on
 * rpi-zero-2w, 8.1 MiB more RSS than 50k after the quiet-time release (19
 * bytes a message); 21 leaves a margin.
 */
export const QUEUE_ENTRY_BYTES = 21

/** The share of memory.softMark the queued messages' entries may take by default. */
export const QUEUE_MEMORY_SHARE = 0.2

/**
 * The offline queue caps of a config, for createLevelPersistence and
 * setQueueLimits on reload: limits.maxQueuedMessages (0 = no count cap) and
 * persistence.maxQueuedBytes, or when that is unset, persistence.queueDiskShare
 * percent of the data partition (`partition` bytes), at least QUEUE_BYTES_FLOOR;
 * and the store-wide count, persistence.maxQueuedMessagesTotal or when unset
 * QUEUE_MEMORY_SHARE of the memory soft mark (lowered by `cgroupLimit` as the
 * limits part lowers it) at QUEUE_ENTRY_BYTES a message.
 */
export function queueLimitsOf (config: EdgemqConfig, partition = 0, cgroupLimit?: number): { maxMessages: number, maxBytes: number, maxTotalMessages: number, refuseNew: boolean } {
  const set = config.persistence.maxQueuedBytes
  const share = config.persistence.queueDiskShare
  const maxBytes = typeof set === 'number' ? numberOr0(set) : Math.max(QUEUE_BYTES_FLOOR, Math.floor(partition * share / 100))
  const total = config.persistence.maxQueuedMessagesTotal
  const maxTotalMessages = typeof total === 'number' ? numberOr0(total) : defaultQueuedTotal(readLimitsSettings(config, cgroupLimit).memory.softMark)
  return { maxMessages: config.limits.maxQueuedMessages, maxBytes, maxTotalMessages, refuseNew: config.limits.queueFullPolicy === 'refuse-new' }
}

/** The default store-wide cap for a memory soft mark of `softMark` bytes (no board cap: 100 million). */
export function defaultQueuedTotal (softMark: number): number {
  return Math.min(100_000_000, Math.floor(softMark * QUEUE_MEMORY_SHARE / QUEUE_ENTRY_BYTES))
}

function byteLength (payload: unknown): number {
  return typeof payload === 'string' ? Buffer.byteLength(payload) : (payload as { length?: number } | null)?.length ?? 0
}

/** Size of the file system holding `path` (the nearest existing ancestor); 0 when it cannot be read. */
export async function partitionBytes (path: string): Promise<number> {
  let dir = resolve(path)
  for (;;) {
    try {
      const s = await statfs(dir)
      return Number(s.blocks) * Number(s.bsize)
    } catch {
      const up = dirname(dir)
      if (up === dir) return 0
      dir = up
    }
  }
}

function numberOr0 (value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0
}
