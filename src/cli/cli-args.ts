// Flag parsing shared by the commands that read a config.
import { parseArgs } from 'node:util'
import { EdgemqError, ERROR_CODES } from '../errors.ts'
import type { ConfigFlags } from '../config/load-config.ts'

/** The config flags every config-reading command accepts (Mosquitto users expect -c, -p, -v). */
export const CONFIG_FLAG_OPTIONS = {
  config: { type: 'string', short: 'c' },
  port: { type: 'string', short: 'p' },
  host: { type: 'string' },
  data: { type: 'string' },
  board: { type: 'string' },
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' }
} as const

/** The help text lines of the config flags. */
export const CONFIG_FLAGS_HELP = `  -c, --config FILE   config file (YAML or JSON); without it the embedded defaults
  -p, --port PORT     port of the first listener
      --host ADDR     bind address of the first listener
      --data DIR      data folder (persistence.path)
      --board NAME    board profile (edgemq boards lists them); default: detected
  -v, --verbose       log at debug level
  -h, --help          this help`

type Extra = Record<string, { type: 'string' | 'boolean', short?: string, multiple?: boolean }>

/** Parses argv into config flags plus a command's own options; a clear usage error otherwise. */
export function parseConfigArgs (args: string[], extra: Extra = {}): { configPath?: string, flags: ConfigFlags, help: boolean, values: Record<string, unknown>, positionals: string[] } {
  let parsed
  try {
    parsed = parseArgs({ args, options: { ...CONFIG_FLAG_OPTIONS, ...extra }, allowPositionals: true, strict: true })
  } catch (err) {
    throw new EdgemqError(ERROR_CODES.USAGE, `${(err as Error).message} (see --help)`)
  }
  const v = parsed.values as Record<string, unknown>
  return {
    configPath: v.config as string | undefined,
    flags: { port: v.port as string | undefined, host: v.host as string | undefined, data: v.data as string | undefined, board: v.board as string | undefined, verbose: v.verbose === true },
    help: v.help === true,
    values: v,
    positionals: parsed.positionals
  }
}
