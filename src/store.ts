// The broker's view of its store: what aedes needs, namespaces for the other
// parts, and the incoming journal that makes an acknowledgement durable.
// Backed by src/persistence (LevelDB).
import { createValueCipher, loadOrCreateDeviceKey } from './crypto/value-cipher.ts'
import { openLevelStore } from './persistence/level-store.ts'
import type { Store, Sublevel } from './store-contract.ts'
import type { EdgemqConfig } from './config/types.ts'
import type { Logger } from './observability/logger.ts'

export type { Store, Sublevel } from './store-contract.ts'

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
