// `edgemq store check|compact|export|import`: the operator's view of the
// LevelDB store. check works beside a running broker (it reads a copy of the
// files); compact, export and import need the broker stopped (LevelDB admits
// one process per store, and an import never merges into a live store).
import { createReadStream, createWriteStream } from 'node:fs'
import type { CliCommand } from '../cli-command.ts'
import { CONFIG_FLAGS_HELP, parseConfigArgs } from '../cli-args.ts'
import { loadEffectiveConfig } from '../load-effective-config.ts'
import { checkStore, compactStore, exportStore, importStore } from '../../persistence/store-inspect.ts'

const USAGE = `usage: edgemq store check   [-c FILE] [--path DIR] [--json]
       edgemq store compact [-c FILE] [--path DIR]
       edgemq store export  [-c FILE] [--path DIR] [-o FILE]
       edgemq store import  --path DIR [-i FILE]

check    counts per kind of record, persistent sessions, quarantined records,
         orphaned packet-id records, queued messages of clients without a
         subscription, bytes on disk and moved-aside copies. Read-only; on a
         running broker it reads a copy of the files.
compact  compacts a stopped broker's store (LevelDB compactRange).
export   writes a stopped broker's store as JSON lines (header, then one
         base64 key/value record per line): sessions, queues, retained
         messages, wills, bridge queues, bans. Values sealed at rest stay
         sealed: move persistence.encryptionKeyFile with the file.
import   loads an export into a new, empty store path (a gateway swap keeps
         its sessions and bridge queue).
      --path DIR      the store (default: persistence.path of the config)
  -o, --output FILE   export to FILE (default: stdout)
  -i, --input FILE    import from FILE (default: stdin)
      --json          check: machine-readable output
${CONFIG_FLAGS_HELP}`

/** The store command. */
export const storeCommand: CliCommand = {
  name: 'store',
  summary: 'check, compact, export or import the LevelDB store (sessions, queues, retained, bridge queues)',
  usage: USAGE,
  run: async (args, io) => {
    const { configPath, flags, help, values, positionals } = parseConfigArgs(args, {
      path: { type: 'string' }, json: { type: 'boolean' }, output: { type: 'string', short: 'o' }, input: { type: 'string', short: 'i' }
    })
    const action = positionals[0]
    if (help || !['check', 'compact', 'export', 'import'].includes(action ?? '')) {
      io.stdout.write(USAGE)
      return help ? 0 : 2
    }
    let path = typeof values.path === 'string' ? values.path : undefined
    if (path === undefined) {
      if (action === 'import') { io.stderr.write('store import needs --path DIR (a new, empty store path)\n'); return 2 }
      path = (await loadEffectiveConfig(configPath, flags)).config.persistence.path
    }
    try {
      if (action === 'check') {
        const r = await checkStore(path)
        if (values.json === true) { io.stdout.write(JSON.stringify(r, null, 2) + '\n'); return 0 }
        const lines = [
          `store ${r.path}${r.readFromCopy ? ' (held by a running broker: read from a copy)' : ''}`,
          `  bytes on disk            ${r.bytesOnDisk}`,
          `  persistent sessions      ${r.sessions}`,
          ...Object.entries(r.counts).sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `  ${k.padEnd(24)} ${n}`),
          `  quarantined records      ${r.quarantined}`,
          `  orphaned packet ids      ${r.orphanedStates}`,
          `  queued, no subscription  ${r.queuedWithoutSubscription}`,
          `  moved-aside copies       ${r.movedAside.length === 0 ? 'none' : r.movedAside.map((m) => `${m.path}${m.movedAt === undefined ? '' : ` (${m.movedAt})`}`).join(', ')}`
        ]
        io.stdout.write(lines.join('\n') + '\n')
        return 0
      }
      if (action === 'compact') {
        const r = await compactStore(path)
        io.stdout.write(`compacted ${path}: ${r.before} -> ${r.after} bytes\n`)
        return 0
      }
      if (action === 'export') {
        const file = typeof values.output === 'string' ? createWriteStream(values.output, { mode: 0o600 }) : undefined
        const n = await exportStore(path, file ?? io.stdout)
        if (file !== undefined) await new Promise<void>((resolve, reject) => { file.once('error', reject); file.end(() => resolve()) })
        io.stderr.write(`exported ${n} records from ${path}\n`)
        return 0
      }
      const input = typeof values.input === 'string' ? createReadStream(values.input) : io.stdin
      const n = await importStore(path, input)
      io.stdout.write(`imported ${n} records into ${path}\n`)
      return 0
    } catch (err) {
      const e = err as { code?: string, message: string, cause?: { code?: string } }
      const locked = e.code === 'LEVEL_LOCKED' || e.cause?.code === 'LEVEL_LOCKED'
      io.stderr.write(locked ? `store ${action}: ${path} is held by a running broker: stop it first (only check works beside it)\n` : `store ${action}: ${e.message}\n`)
      return 1
    }
  }
}
