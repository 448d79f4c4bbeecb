// Reads the config file (if any) and resolves it with the flags: what start,
// check, config and ctl all do first.
import { readConfigFile } from '../config/config-file.ts'
import { resolveConfig, type ConfigFlags, type ResolvedConfig } from '../config/load-config.ts'

/** The effective config for a command line. */
export async function loadEffectiveConfig (configPath: string | undefined, flags: ConfigFlags): Promise<ResolvedConfig> {
  const file = configPath === undefined ? undefined : await readConfigFile(configPath)
  return await resolveConfig({ file, flags })
}
