// Dispatches `edgemq <command>` to one of the commands (in-process, for tests too).
import type { CliCommand, CliIo } from './cli-command.ts'
import { COMMANDS } from './command-list.ts'
import { boardsCommand } from './commands/boards.ts'
import { checkCommand } from './commands/check.ts'
import { configCommand } from './commands/config.ts'
import { ctlCommand } from './commands/ctl.ts'
import { startCommand } from './commands/start.ts'
import { versionCommand } from './commands/version.ts'
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
    throw err
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
