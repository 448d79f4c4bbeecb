// `edgemq config`: the effective config with where each value came from, or
// `--explain`: the option table itself (the config reference).
import type { CliCommand } from '../cli-command.ts'
import { CONFIG_FLAGS_HELP, parseConfigArgs } from '../cli-args.ts'
import { loadEffectiveConfig } from '../load-effective-config.ts'
import { OPTION_TABLE } from '../../config/option-table.ts'
import { renderOptionTable } from '../../config/render-options.ts'
import { redactSecrets, redactValue } from '../../observability/redact-secrets.ts'
import { formatDuration, formatSize } from '../../config/units.ts'

/** The config command. */
export const configCommand: CliCommand = {
  name: 'config',
  summary: 'print the effective config and where each value came from (default, board, file, flag)',
  usage: `usage: edgemq config [-c FILE] [flags] [--json] [--explain]\n\n  --json       the effective config as JSON\n  --explain    every option: type, default, unit, reload, why (markdown)\n${CONFIG_FLAGS_HELP}\n`,
  run: async (args, io) => {
    const { configPath, flags, help, values } = parseConfigArgs(args, { json: { type: 'boolean' }, explain: { type: 'boolean' } })
    if (help) { io.stdout.write(configCommand.usage); return 0 }
    if (values.explain === true) { io.stdout.write(renderOptionTable(OPTION_TABLE)); return 0 }
    const { config, sources, board, boardReason } = await loadEffectiveConfig(configPath, flags)
    // Secrets never reach the output, whatever the file holds (issue 15).
    if (values.json === true) { io.stdout.write(JSON.stringify(redactValue(config), null, 2) + '\n'); return 0 }
    io.stdout.write(`# board ${board.name} (${boardReason})\n`)
    for (const option of OPTION_TABLE) {
      const value = option.key.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], config)
      if (value === undefined) continue
      const source = sources.get(option.key)
      const from = source === undefined ? '' : `${source.layer}${source.where === undefined ? '' : ' ' + source.where}`
      // With its unit, as a config file would say it (issue 15): 30s, not 30000.
      const shown = typeof value === 'number' && option.type === 'duration' ? formatDuration(value) : typeof value === 'number' && option.type === 'size' ? formatSize(value) : JSON.stringify(redactValue(value))
      io.stdout.write(redactSecrets(`${option.key} = ${shown}${typeof value === 'number' && option.unit !== undefined && option.type !== 'duration' && option.type !== 'size' ? ` ${option.unit}` : ''}    # ${from}\n`))
    }
    for (const [key, source] of sources) {
      if (key.startsWith('listeners[')) io.stdout.write(`# ${key} overridden by ${source.layer} ${source.where ?? ''}\n`)
    }
    return 0
  }
}
