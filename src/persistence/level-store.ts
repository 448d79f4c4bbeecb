// The Store of src/store.ts backed by LevelPersistence, so the composition root
// switches from its placeholder with one line: `export { openLevelStore as openStore }`.
import type { EdgemqConfig } from '../config/types.ts'
import type { Logger } from '../observability/logger.ts'
import type { Store, Sublevel } from '../store-contract.ts'
import { createLevelPersistence, type LevelPersistence } from './level-persistence.ts'
import type { StoredPacket } from './record-codec.ts'
import type { ValueCipher } from './store-context.ts'

/** A Store whose persistence is reachable (durable writes of sublevels, sizes). */
export type LevelStore = Store & { persistence: LevelPersistence }

/** Opens (repairing or replacing a damaged store) the LevelDB at config.persistence.path. */
export async function openLevelStore (config: EdgemqConfig, logger: Logger, options: { valueCipher?: ValueCipher } = {}): Promise<LevelStore> {
  const caps = queueLimitsOf(config)
  const p = createLevelPersistence({ ...config.persistence, logger, valueCipher: options.valueCipher, maxQueuedMessages: caps.maxMessages, maxQueuedBytes: caps.maxBytes })
  await p.ready()
  return {
    persistence: p,
    aedesPersistence: p,
    sublevel: (name) => p.sublevel(name, { valueEncoding: 'buffer' }) as unknown as Sublevel,
    syncMode: config.persistence.sync,
    journalIncoming: async (clientId, packet) => { await p.journalIncoming(clientId, packet as StoredPacket) },
    needsJournal: (packet) => p.needsJournal(packet.topic, packet.qos, packet.retain),
    journalDone: async (clientId, packet) => { await p.journalDone(clientId, packet as StoredPacket) },
    replayJournal: async (publish) => { await p.replayJournal(publish) },
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
        persistenceWriteBatches: s.writeBatches,
        persistenceWriteOps: s.writeOps,
        persistenceSyncs: s.syncs,
        persistenceLastSyncAt: s.lastSyncAt ?? 0
      }
    },
    setQueueLimits: (next) => { p.setQueueLimits(queueLimitsOf(next)) },
    close: async () => { await p.close() }
  }
}

/** The offline queue caps of a config (limits.maxQueuedMessages / maxQueuedBytes; 0 = no cap), for setQueueLimits on reload. */
export function queueLimitsOf (config: EdgemqConfig): { maxMessages: number, maxBytes: number } {
  return { maxMessages: config.limits.maxQueuedMessages, maxBytes: config.limits.maxQueuedBytes }
}
