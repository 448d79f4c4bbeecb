// The broker's view of its store: what aedes needs, namespaces for the other
// parts, and the incoming journal that makes an acknowledgement durable.
// Backed by src/persistence (LevelDB).
import { Level } from 'level'
import * as memoryPersistenceModule from 'aedes-persistence'
import type { EdgemqConfig } from './config/types.ts'
import type { Logger } from './observability/logger.ts'
import { EdgemqError, ERROR_CODES } from './errors.ts'

/** A namespaced key/value store inside the one LevelDB. */
export type Sublevel = ReturnType<Level<string, Buffer>['sublevel']>

/** The store the composition root uses. */
export interface Store {
  /** The object aedes takes as `persistence`. */
  aedesPersistence: unknown
  /** A namespace for a part (bans, bridge queues), values as Buffers. */
  sublevel: (name: string) => Sublevel
  /** Whether writes are synced before acknowledgements ('always'), periodically, or never. */
  syncMode: EdgemqConfig['persistence']['sync']
  /** Records an incoming QoS 1/2 message durably before it is acknowledged. */
  journalIncoming: (clientId: string, packet: unknown) => Promise<void>
  /** Marks a journaled message as routed and persisted. */
  journalDone: (clientId: string, packet: unknown) => Promise<void>
  /** Re-publishes journaled messages a crash left behind. */
  replayJournal: (publish: (packet: unknown) => Promise<void>) => Promise<void>
  stats: () => Record<string, number>
  close: () => Promise<void>
}

/** Opens the store at config.persistence.path. */
export async function openStore (config: EdgemqConfig, logger: Logger): Promise<Store> {
  const db = new Level<string, Buffer>(config.persistence.path, {
    valueEncoding: 'buffer',
    cacheSize: config.persistence.cacheSize,
    writeBufferSize: config.persistence.writeBufferSize
  } as never)
  try {
    await db.open()
  } catch (err) {
    throw new EdgemqError(ERROR_CODES.PERSISTENCE_FAILED, `cannot open the store at ${config.persistence.path}: ${(err as Error).message} (is another edgemq running on this data folder? set persistence.path or --data)`, { cause: err })
  }
  logger.debug('store opened', { path: config.persistence.path })
  // Placeholder until the LevelDB persistence lands: aedes's in-memory store.
  const memory = ((memoryPersistenceModule as unknown as { default?: () => unknown }).default ?? memoryPersistenceModule) as unknown as () => unknown
  const persistence = memory()
  return {
    aedesPersistence: persistence,
    sublevel: (name) => db.sublevel<string, Buffer>(name, { valueEncoding: 'buffer' }) as Sublevel,
    syncMode: config.persistence.sync,
    journalIncoming: async () => {},
    journalDone: async () => {},
    replayJournal: async () => {},
    stats: () => ({}),
    close: async () => { await db.close() }
  }
}
