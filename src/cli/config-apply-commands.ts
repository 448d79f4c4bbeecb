// Registers `config.apply`, `config.confirm` and `config.history` on the running
// broker's control socket (the process that knows the config path and flags).
import { join } from 'node:path'
import type { EdgemqBroker } from '../broker.ts'
import type { ConfigFlags } from '../config/load-config.ts'
import { ConfigApplier } from '../control/config-apply.ts'
import type { Logger } from '../observability/logger.ts'
import { loadEffectiveConfig } from './load-effective-config.ts'

/** Wires a ConfigApplier to `broker`; `serialize` orders applies with SIGHUP reloads. */
export function attachConfigApply (broker: EdgemqBroker, configPath: string | undefined, flags: ConfigFlags, log: Logger, serialize: <T>(work: () => Promise<T>) => Promise<T>): ConfigApplier {
  const applier = new ConfigApplier({
    current: () => broker.config,
    reload: async (next) => { await broker.reload(next) },
    addresses: () => broker.addresses(),
    load: async (path) => (await loadEffectiveConfig(path, flags)).config,
    serialize
  }, join(broker.config.persistence.path, 'config-history'), log)
  broker.control.register('config.apply', async (args) => {
    if (typeof args.path !== 'string') throw new Error('config.apply needs path=FILE')
    return await applier.apply(args.path, typeof args.confirmWithinMs === 'number' ? args.confirmWithinMs : 0)
  })
  broker.control.register('config.confirm', async () => ({ ...(await applier.confirm()), configPath }))
  broker.control.register('config.history', async () => await applier.history())
  broker.control.register('config.path', async () => ({ configPath }))
  return applier
}
