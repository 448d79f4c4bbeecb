// Every `edgemq` command, in the order `edgemq --help` lists them.
// Each part adds its commands here (one import, one entry).
import type { CliCommand } from './cli-command.ts'
import { passwdCommand } from './commands/passwd.ts'
import { bansCommand } from './commands/bans.ts'
import { auditCommand } from './commands/audit.ts'
import { keygenCommand } from './commands/keygen.ts'
import { sealCommand } from './commands/seal.ts'
import { openCommand } from './commands/open.ts'
import { throttleCommand } from './commands/throttle.ts'
import { importMosquittoCommand } from './commands/import-mosquitto.ts'
import { storeCommand } from './commands/store.ts'

/** All commands. */
export const COMMANDS: CliCommand[] = [
  passwdCommand,
  bansCommand,
  auditCommand,
  keygenCommand,
  sealCommand,
  openCommand,
  throttleCommand,
  importMosquittoCommand,
  storeCommand
]
