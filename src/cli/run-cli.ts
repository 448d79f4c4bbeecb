// Dispatches `edgemq <command>` to one of the commands (in-process, for tests too).
import type { CliCommand, CliIo } from './cli-command.ts'
import { COMMANDS } from './command-list.ts'
import { boardsCommand } from './commands/boards.ts'
import { checkCommand } from './commands/check.ts'
import { configCommand } from './commands/config.ts'
import { ctlCommand } from './commands/ctl.ts'
import { startCommand } from './commands/start.ts'
import { versionCommand } from './commands/version.ts'
import { existsSync } from 'node:fs'
import { dirname } from 'node:path'
import { isEdgemqError } from '../errors.ts'
import { redactSecrets } from '../observability/redact-secrets.ts'

const CORE: CliCommand[] = [startCommand, checkCommand, configCommand, boardsCommand, versionCommand, ctlCommand]

/** All commands: the core ones first, then the parts'. */
export function allCommands (): CliCommand[] {
  return [...CORE, ...COMMANDS.filter((c) => !CORE.some((k) => k.name === c.name))]
}

/** Runs `edgemq <args>`; resolves to the exit code. */
export async function main (args: string[], rawIo: CliIo): Promise<number> {
  // Every error a command prints passes the one redaction (issue 15): no
  // password, key, token or URL userinfo on stderr, whatever raised it.
  const io: CliIo = { ...rawIo, stderr: redactingStream(rawIo.stderr) }
  const [name, ...rest] = args
  const commands = allCommands()
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(`usage: edgemq <command> [options]\n\ncommands:\n${commands.map((c) => `  ${c.name.padEnd(9)} ${c.summary}`).join('\n')}\n\nedgemq <command> --help for its options.\n`)
    return name === undefined ? 2 : 0
  }
  if (name === '--version' || name === '-V') return await versionCommand.run([], io)
  const command = commands.find((c) => c.name === name)
  if (command === undefined) {
    io.stderr.write(`edgemq: unknown command "${name}": use one of ${commands.map((c) => c.name).join(', ')} (edgemq --help)\n`)
    return 2
  }
  try {
    return await command.run(rest, io)
  } catch (err) {
    if (isEdgemqError(err)) {
      io.stderr.write(`edgemq ${name}: ${err.message}\n`)
      return err.code === 'EDGEMQ_ERR_USAGE' ? 2 : 1
    }
    // No raw stack trace for a user error (issue 15): one line, the cause and a fix.
    if ((err as NodeJS.ErrnoException).code === 'EPIPE') return 0 // `edgemq config | head`: the reader had enough
    io.stderr.write(`edgemq ${name}: ${describeError(err as NodeJS.ErrnoException)}\n`)
    if (rawIo.env.EDGEMQ_DEBUG === '1') io.stderr.write(`${(err as Error).stack ?? ''}\n`)
    return 1
  }
}

/** One line for an error no command turned into an EdgemqError: the file-system ones with their fix. */
export function describeError (err: NodeJS.ErrnoException): string {
  const path = typeof err.path === 'string' ? err.path : undefined
  // writeFileAtomic's temp files (.NAME.xxxx.tmp) stand for the file being written
  const shown = path?.replace(/\/\.([^/]+)\.[0-9a-f]+\.tmp$/, '/$1')
  const folder = shown === undefined ? undefined : dirname(shown)
  switch (err.code) {
    case 'ENOENT':
      if (folder !== undefined && !existsSync(folder)) return `the folder ${folder} does not exist (writing ${shown}): create it first (mkdir -p ${folder}) or give another path`
      return `${shown ?? 'a file'} does not exist: check the path`
    case 'EACCES':
    case 'EPERM':
      return `permission denied on ${shown ?? 'a file'}: run as a user who may use it (for example sudo -u edgemq), or fix its owner and mode`
    case 'EISDIR': return `${shown ?? 'the path'} is a folder, not a file: give a file path`
    case 'ENOTDIR': return `a part of ${shown ?? 'the path'} is a file, not a folder: check the path`
    case 'ENOSPC': return `no space left on the disk holding ${shown ?? 'the file'}: free some space (df -h) and try again`
    case 'EROFS': return `${shown ?? 'the file'} is on a read-only file system: remount it read-write or give another path`
    case 'EEXIST': return `${shown ?? 'the file'} already exists: move it away or give another path`
    default:
      return `${(err as Error).message ?? String(err)} (unexpected: run again with EDGEMQ_DEBUG=1 for the stack trace and report it)`
  }
}


/** A stream that redacts secrets from text written to `out` (line by line as written). */
function redactingStream (out: NodeJS.WritableStream): NodeJS.WritableStream {
  return new Proxy(out, {
    get (target, prop, receiver) {
      if (prop === 'write') {
        return (chunk: unknown, ...rest: unknown[]) => (target.write as (...a: unknown[]) => boolean)(typeof chunk === 'string' ? redactSecrets(chunk) : chunk, ...rest)
      }
      const v = Reflect.get(target, prop, receiver) as unknown
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
    }
  })
}
