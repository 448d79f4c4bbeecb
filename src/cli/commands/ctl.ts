// `edgemq ctl <command> [key=value ...]`: talk to the running broker over
// its control socket (stats, bans, throttles, bridges, ...).
import type { CliCommand } from '../cli-command.ts'
import { CONFIG_FLAGS_HELP, parseConfigArgs } from '../cli-args.ts'
import { loadEffectiveConfig } from '../load-effective-config.ts'
import { callControl } from '../../control/control-client.ts'
import { controlSocketPath } from '../../control/control-path.ts'

/** The ctl command. */
export const ctlCommand: CliCommand = {
  name: 'ctl',
  summary: 'send a command to the running broker (edgemq ctl help lists them)',
  usage: `usage: edgemq ctl [-c FILE] [--socket PATH] COMMAND [key=value ...]\n\nExamples: edgemq ctl stats; edgemq ctl help\n\n  --socket PATH   the control socket (default: from the config)\n${CONFIG_FLAGS_HELP}\n`,
  run: async (args, io) => {
    const { configPath, flags, help, values, positionals } = parseConfigArgs(args, { socket: { type: 'string' } })
    if (help || positionals.length === 0) { io.stdout.write(ctlCommand.usage); return help ? 0 : 2 }
    const socket = typeof values.socket === 'string' ? values.socket : controlSocketPath((await loadEffectiveConfig(configPath, flags)).config)
    const [command, ...rest] = positionals
    const callArgs: Record<string, unknown> = {}
    for (const kv of rest) {
      const eq = kv.indexOf('=')
      if (eq < 0) { io.stderr.write(`edgemq ctl: arguments are key=value: got "${kv}"\n`); return 2 }
      const raw = kv.slice(eq + 1)
      callArgs[kv.slice(0, eq)] = /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw === 'true' ? true : raw === 'false' ? false : raw
    }
    const result = await callControl(socket, command, callArgs)
    io.stdout.write(JSON.stringify(result, null, 2) + '\n')
    return 0
  }
}
