// Every `edgemq` command, in the order `edgemq --help` lists them.
// Each part adds its commands here (one import, one entry).
import type { CliCommand } from './cli-command.ts'

/** All commands. */
export const COMMANDS: CliCommand[] = []
