// The broker's view of its store: what aedes needs, namespaces for the other
// parts, and the incoming journal that makes an acknowledgement durable.
// Backed by src/persistence (LevelDB).
import type { Level } from 'level'
import { createValueCipher, loadOrCreateDeviceKey } from './crypto/value-cipher.ts'
import { openLevelStore } from './persistence/level-store.ts'
import type { EdgemqConfig } from './config/types.ts'
import type { Logger } from './observability/logger.ts'
import type { SessionMarkers } from './engine/connack-session-present.ts'

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
  /**
   * Whether an accepted QoS 1/2 message needs the journal before its
   * acknowledgement (QoS 2, retained, or a persistent session subscribes to
   * its topic). Absent: always. A message only clean sessions receive is lost
   * with them in a crash anyway, so journaling it protects nothing.
   */
  needsJournal?: (packet: { topic: string, qos: number, retain: boolean }) => boolean
  /** Marks a journaled message as routed and persisted. */
  journalDone: (clientId: string, packet: unknown) => Promise<void>
  /** Re-publishes journaled messages a crash left behind. */
  replayJournal: (publish: (packet: unknown) => Promise<void>) => Promise<void>
  /** Persistent sessions (kept without subscriptions too [MQTT-3.2.2-2]); absent: only aedes's view (its subscriptions). */
  sessions?: SessionMarkers
  stats: () => Record<string, number>
  /** Applies a reloaded config's offline-queue bounds (limits.maxQueuedMessages, maxQueuedBytes). */
  setQueueLimits: (config: EdgemqConfig) => void
  close: () => Promise<void>
}

/** Opens the store at config.persistence.path (repairing or replacing a damaged one), with values sealed at rest when persistence.encryptionKeyFile is set. */
export async function openStore (config: EdgemqConfig, logger: Logger): Promise<Store> {
  const keyFile = config.persistence.encryptionKeyFile
  const valueCipher = keyFile === undefined ? undefined : createValueCipher(await loadOrCreateDeviceKey(keyFile))
  const store = await openLevelStore(config, logger, { valueCipher })
  if (valueCipher === undefined) return store
  // The parts' namespaces (bridge queue, bans) are sealed too: a custom value
  // encoding seals on write and opens on read, so no part has to know.
  const sealed = {
    name: 'edgemq-sealed',
    format: 'buffer',
    encode: (value: Uint8Array): Buffer => Buffer.from(valueCipher.seal(value)),
    decode: (stored: Uint8Array): Buffer => Buffer.from(valueCipher.open(stored))
  }
  const persistence = store.persistence
  return { ...store, sublevel: (name) => persistence.sublevel(name, { valueEncoding: sealed as unknown as string }) as unknown as Sublevel }
}
