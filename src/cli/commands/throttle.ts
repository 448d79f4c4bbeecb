// `edgemq throttle get | set | limits`: read and change the running broker's
// throttles and see its limits and memory state, through the control socket.
// Changes apply at once, without a restart and without dropping clients.
import type { CliCommand } from '../cli-command.ts'
import { CONFIG_FLAGS_HELP, parseConfigArgs } from '../cli-args.ts'
import { loadEffectiveConfig } from '../load-effective-config.ts'
import { callControl } from '../../control/control-client.ts'
import { controlSocketPath } from '../../control/control-path.ts'
import { parseSize } from '../../config/units.ts'

/** The throttle command. */
export const throttleCommand: CliCommand = {
  name: 'throttle',
  summary: 'show or change throttles (bytes/s, messages/s, connections/s) of the running broker',
  usage: `usage: edgemq throttle get [client=ID] [-c FILE] [--socket PATH]
       edgemq throttle set (client=ID | group=NAME | listener=NAME | scope=client | scope=global) RATE=VALUE ...
       edgemq throttle set client=ID clear=true
       edgemq throttle limits          limits, memory state and counters

Rates: inboundBytesPerSecond, inboundMessagesPerSecond, outboundBytesPerSecond (client, group, scope=client),
connectionRate, connectionBurst (listener). Byte rates take sizes: 10KB, 1MB. 0 = unlimited.
Rates for client=ID last across reconnects and reloads until cleared; the others until the next reload.

Example: edgemq throttle set client=sensor-7 inboundBytesPerSecond=10KB inboundMessagesPerSecond=20

      --socket PATH   the control socket (default: from the config)
${CONFIG_FLAGS_HELP}
`,
  run: async (args, io) => {
    const { configPath, flags, help, values, positionals } = parseConfigArgs(args, { socket: { type: 'string' } })
    const [action, ...pairs] = positionals
    if (help || (action !== 'get' && action !== 'set' && action !== 'limits')) {
      io.stdout.write(throttleCommand.usage)
      return help ? 0 : 2
    }
    const callArgs: Record<string, unknown> = {}
    for (const kv of pairs) {
      const eq = kv.indexOf('=')
      if (eq <= 0) { io.stderr.write(`edgemq throttle: arguments are key=value: got "${kv}"\n`); return 2 }
      const key = kv.slice(0, eq)
      const raw = kv.slice(eq + 1)
      if (key === 'client' || key === 'group' || key === 'listener' || key === 'scope') callArgs[key] = raw
      else if (key === 'clear') callArgs.clear = raw === 'true'
      else {
        const n = key.endsWith('BytesPerSecond') ? parseSize(raw) : Number(raw)
        if (n === undefined || !Number.isFinite(n) || n < 0) { io.stderr.write(`edgemq throttle: ${key} must be a number >= 0${key.endsWith('BytesPerSecond') ? ' or a size such as 10KB' : ''}: got "${raw}"\n`); return 2 }
        callArgs[key] = n
      }
    }
    const socket = typeof values.socket === 'string' ? values.socket : controlSocketPath((await loadEffectiveConfig(configPath, flags)).config)
    const command = action === 'limits' ? 'limits.get' : `throttle.${action}`
    const result = await callControl(socket, command, callArgs)
    io.stdout.write(JSON.stringify(result, null, 2) + '\n')
    return 0
  }
}
