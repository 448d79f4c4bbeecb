// `edgemq check`: validate a config and report every problem at once.
import type { CliCommand } from '../cli-command.ts'
import { CONFIG_FLAGS_HELP, parseConfigArgs } from '../cli-args.ts'
import { loadEffectiveConfig } from '../load-effective-config.ts'
import { isEdgemqError } from '../../errors.ts'
import { preflightConfig } from '../../preflight-config.ts'

/** The check command. */
export const checkCommand: CliCommand = {
  name: 'check',
  summary: 'validate a config file; exit 1 listing every problem (file:line, key, value, fix)',
  usage: `usage: edgemq check -c FILE [flags]\n\nValidates the config as start would, without starting: the options, and the\nfiles, keys, certificates and ports it names (password and ACL files, TLS\nfiles, bridge secrets and seal keys, the store folder, listeners sharing a\nport). It does not bind ports: run it beside the running broker before a reload.\n\n${CONFIG_FLAGS_HELP}\n`,
  run: async (args, io) => {
    const { configPath, flags, help } = parseConfigArgs(args)
    if (help) { io.stdout.write(checkCommand.usage); return 0 }
    try {
      const { config, board } = await loadEffectiveConfig(configPath, flags)
      // The files, keys, certificates and ports start would meet (src/preflight-config.ts).
      const problems = await preflightConfig(config)
      if (problems.length > 0) {
        io.stderr.write(`config invalid: ${configPath ?? '(embedded defaults)'}: start would refuse it (${problems.length} problem${problems.length === 1 ? '' : 's'})\n${problems.map((l) => `  ${l}`).join('\n')}\n`)
        return 1
      }
      io.stdout.write(`config ok: ${configPath ?? '(embedded defaults)'}; board ${board.name}; ${config.listeners.length} listener(s); files, keys, certificates and ports checked\n`)
      return 0
    } catch (err) {
      if (!isEdgemqError(err)) throw err
      const lines = err.problems.length > 0 ? err.problems : [err.message]
      io.stderr.write(`config invalid: ${configPath ?? '(embedded defaults)'}\n${lines.map((l) => `  ${l}`).join('\n')}\n`)
      return 1
    }
  }
}
