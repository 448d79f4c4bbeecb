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

const CORE: CliCommand[] = [startCommand, checkCommand, configCommand, boardsCommand, versionCommand, ctlCommand]

/** All commands: the core ones first, then the parts'. */
export function allCommands (): CliCommand[] {
  return [...CORE, ...COMMANDS.filter((c) => !CORE.some((k) => k.name === c.name))]
}

/** Runs `edgemq <args>`; resolves to the exit code. */
export async function main (args: string[], io: CliIo): Promise<number> {
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

