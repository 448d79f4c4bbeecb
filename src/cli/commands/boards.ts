// `edgemq boards`: list the board profiles and the one detected here.
import type { CliCommand } from '../cli-command.ts'
import { BOARDS, detectBoard } from '../../config/boards.ts'
import { OPTION_TABLE } from '../../config/option-table.ts'
import { renderBoardTable } from '../../config/render-options.ts'

/** The boards command. */
export const boardsCommand: CliCommand = {
  name: 'boards',
  summary: 'list board profiles (resource limits per board) and the one detected here',
  usage: 'usage: edgemq boards [--table]\n\n  --table   every board-settable option per board (markdown)\n',
  run: async (args, io) => {
    if (args.includes('--help') || args.includes('-h')) { io.stdout.write(boardsCommand.usage); return 0 }
    if (args.includes('--table')) { io.stdout.write(renderBoardTable(OPTION_TABLE)); return 0 }
    const { board: detected, reason } = await detectBoard()
    for (const b of BOARDS) {
      const heap = (b.settings.runtime as { maxOldSpace?: number } | undefined)?.maxOldSpace
      io.stdout.write(`${b.name === detected.name ? '*' : ' '} ${b.name.padEnd(14)} ${b.arch.padEnd(6)} ${String(b.memoryMiB).padStart(5)} MiB  heap ${heap === undefined ? 'default' : heap + ' MiB'}  ${b.description}\n`)
    }
    io.stdout.write(`\n* detected: ${detected.name} (${reason})\n`)
    return 0
  }
}
