// `edgemq ctl <command> [key=value ...]`: talk to the running broker over
// its control socket (stats, bans, throttles, bridges, ...).
import type { CliCommand } from '../cli-command.ts'
import { CONFIG_FLAGS_HELP, parseConfigArgs } from '../cli-args.ts'
import { loadEffectiveConfig } from '../load-effective-config.ts'
import { callControl } from '../../control/control-client.ts'
import { controlSocketPath } from '../../control/control-path.ts'
import type { ApplyRecord } from '../../control/config-apply.ts'
import { parseDuration } from '../../config/units.ts'
import { copyFile, readFile, rename, stat, writeFile } from 'node:fs/promises'
import { resolve } from 'node:path'

/** The ctl command. */
export const ctlCommand: CliCommand = {
  name: 'ctl',
  summary: 'send a command to the running broker (edgemq ctl help lists them)',
  usage: `usage: edgemq ctl [-c FILE] [--socket PATH] COMMAND [key=value ...]\n\nExamples: edgemq ctl stats; edgemq ctl help\n\nChanging the config safely:\n  edgemq ctl apply NEW.yaml [--confirm-within 2m]   validate, swap in, probe (listeners bound,\n      control socket answering, bridges that were connected connect again); a failed probe, or no\n      confirm within the window, puts the previous config back by itself\n  edgemq ctl confirm      keep the applied config: it is written over the config file\n  edgemq ctl history      the applied configs with their time and outcome\n\n  --socket PATH   the control socket (default: from the config)\n${CONFIG_FLAGS_HELP}\n`,
  run: async (args, io) => {
    const { configPath, flags, help, values, positionals } = parseConfigArgs(args, { socket: { type: 'string' }, 'confirm-within': { type: 'string' } })
    if (help || positionals.length === 0) { io.stdout.write(ctlCommand.usage); return help ? 0 : 2 }
    const socket = typeof values.socket === 'string' ? values.socket : controlSocketPath((await loadEffectiveConfig(configPath, flags)).config)
    const [command, ...rest] = positionals
    if (command === 'apply' || command === 'confirm' || command === 'history') return await runConfigChange(command, rest, values, socket, io)
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

/** apply / confirm / history: the broker applies and rolls back; this side writes the config file. */
async function runConfigChange (command: string, rest: string[], values: Record<string, unknown>, socket: string, io: Parameters<CliCommand['run']>[1]): Promise<number> {
  if (command === 'history') {
    const records = await callControl(socket, 'config.history') as ApplyRecord[]
    for (const r of records) io.stdout.write(`#${r.id}  ${r.time}  ${r.outcome.padEnd(11)}  ${r.file}${r.reason !== undefined ? `  (${r.reason})` : ''}\n`)
    if (records.length === 0) io.stdout.write('no config has been applied with edgemq ctl apply\n')
    return 0
  }
  if (command === 'confirm') {
    const r = await callControl(socket, 'config.confirm') as ApplyRecord & { configPath?: string }
    return await keep(r, r.configPath, io)
  }
  const file = rest[0]
  if (file === undefined || rest.length > 1) { io.stderr.write('edgemq ctl apply: name one config file: edgemq ctl apply NEW.yaml [--confirm-within 2m]\n'); return 2 }
  let confirmWithinMs = 0
  if (values['confirm-within'] !== undefined) {
    const ms = parseDuration(values['confirm-within'])
    if (ms === undefined || ms < 5_000) { io.stderr.write(`edgemq ctl apply: --confirm-within takes a duration of at least 5s such as 2m: got ${JSON.stringify(values['confirm-within'])}\n`); return 2 }
    confirmWithinMs = ms
  }
  const r = await callControl(socket, 'config.apply', { path: resolve(file), confirmWithinMs }, 60_000) as ApplyRecord
  if (r.outcome === 'refused' || r.outcome === 'rolled back') {
    io.stderr.write(`edgemq ctl apply: ${r.outcome}: ${r.reason ?? ''}\n`)
    return 1
  }
  if (r.outcome === 'pending') {
    io.stdout.write(`applied ${r.file} (#${r.id}); ${r.reason ?? ''}\nWithout it the previous config comes back by itself; the config file is unchanged until then.\n`)
    return 0
  }
  const { configPath } = await callControl(socket, 'config.path') as { configPath?: string }
  return await keep(r, configPath, io)
}

/** Writes the applied config over the broker's config file (atomically, the old one kept as .previous). */
async function keep (r: ApplyRecord, configPath: string | undefined, io: Parameters<CliCommand['run']>[1]): Promise<number> {
  if (configPath === undefined) {
    io.stdout.write(`applied ${r.file} (#${r.id}); the broker runs without a config file, so it is live until the next restart\n`)
    return 0
  }
  const text = await readFile(r.file, 'utf8')
  const mode = (await stat(configPath).catch(() => undefined))?.mode ?? 0o640
  await copyFile(configPath, `${configPath}.previous`).catch(() => {})
  const tmp = `${configPath}.tmp-${process.pid}`
  await writeFile(tmp, text, { mode: mode & 0o777 })
  await rename(tmp, configPath)
  io.stdout.write(`applied ${r.file} (#${r.id}, ${r.outcome}); written to ${configPath} (the old one is ${configPath}.previous)\n`)
  return 0
}
