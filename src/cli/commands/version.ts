// `edgemq version`: version, commit and board of this build.
import type { CliCommand } from '../cli-command.ts'
import { detectBoard } from '../../config/boards.ts'
import { buildInfo } from '../build-info.ts'

/** The version command. */
export const versionCommand: CliCommand = {
  name: 'version',
  summary: 'print version, commit and board',
  usage: 'usage: edgemq version\n',
  run: async (args, io) => {
    if (args.includes('--help') || args.includes('-h')) { io.stdout.write(versionCommand.usage); return 0 }
    const info = buildInfo()
    const board = info.board ?? (await detectBoard()).board.name
    io.stdout.write(`edgemq ${info.version} (commit ${info.commit}) board ${board} node ${process.version} ${process.arch}\n`)
    return 0
  }
}
