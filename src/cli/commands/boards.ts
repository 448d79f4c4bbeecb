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
    // Column headers, and the memory cap of the broker service as the README's
    // board table shows it (issue 15: no headers, and the board's RAM where
    // the README shows the cap); the RAM stays, named.
    const row = (mark: string, name: string, arch: string, cap: string, heap: string, ram: string, what: string): string =>
      `${mark} ${name.padEnd(14)} ${arch.padEnd(6)} ${cap.padStart(10)}  ${heap.padStart(9)}  ${ram.padStart(9)}  ${what}\n`
    io.stdout.write(row(' ', 'board', 'arch', 'memory cap', 'heap', 'board RAM', 'description'))
    for (const b of BOARDS) {
      const heap = (b.settings.runtime as { maxOldSpace?: number } | undefined)?.maxOldSpace
      io.stdout.write(row(b.name === detected.name ? '*' : ' ', b.name, b.arch, `${b.memoryCapMiB} MiB`, heap === undefined ? 'default' : `${heap} MiB`, `${b.memoryMiB} MiB`, b.description))
    }
    io.stdout.write(`\n* detected: ${detected.name} (${reason})\n`)
    return 0
  }
}
