// `edgemq bans list | unban IP`: the lockout's bans in the running broker,
// through the control socket (the broker holds them; LevelDB is locked).
import type { CliCommand } from '../cli-command.ts'
import { CONFIG_FLAGS_HELP, parseConfigArgs } from '../cli-args.ts'
import { loadEffectiveConfig } from '../load-effective-config.ts'
import { callControl } from '../../control/control-client.ts'
import { controlSocketPath } from '../../control/control-path.ts'
import { userInfo } from 'node:os'

/** The bans command. */
export const bansCommand: CliCommand = {
  name: 'bans',
  summary: 'list the IPs banned for failed logins, or lift a ban',
  usage: `usage: edgemq bans list [-c FILE] [--socket PATH] [--json]
       edgemq bans unban IP [-c FILE] [--socket PATH]

Talks to the running broker over its control socket.
      --socket PATH   the control socket (default: from the config)
      --json          machine-readable output
${CONFIG_FLAGS_HELP}
`,
  run: async (args, io) => {
    const { configPath, flags, help, values, positionals } = parseConfigArgs(args, { socket: { type: 'string' }, json: { type: 'boolean' } })
    const [action, ip] = positionals
    if (help || (action !== 'list' && action !== 'unban') || (action === 'unban' && ip === undefined)) {
      io.stdout.write(bansCommand.usage)
      return help ? 0 : 2
    }
    const socket = typeof values.socket === 'string' ? values.socket : controlSocketPath((await loadEffectiveConfig(configPath, flags)).config)
    if (action === 'unban') {
      const r = await callControl(socket, 'bans.unban', { ip, by: `cli:${userInfo().username}` }) as { unbanned: boolean }
      io.stdout.write(r.unbanned ? `unbanned ${ip}\n` : `${ip} was not banned\n`)
      return r.unbanned ? 0 : 1
    }
    const bans = await callControl(socket, 'bans.list') as Array<{ ip: string, since: string, until: string, failures: number, offences: number }>
    if (values.json === true) { io.stdout.write(JSON.stringify(bans, null, 2) + '\n'); return 0 }
    if (bans.length === 0) { io.stdout.write('no bans\n'); return 0 }
    const rows = [['IP', 'UNTIL', 'FAILURES', 'OFFENCES'], ...bans.map((b) => [b.ip, b.until, String(b.failures), String(b.offences)])]
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)))
    io.stdout.write(rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()).join('\n') + '\n')
    return 0
  }
}
