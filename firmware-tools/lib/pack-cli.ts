// Argument handling of firmware-tools/pack.mjs.
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { BOARDS } from '../../src/config/boards.ts'
import { packBoard } from './pack-board.ts'

const REPO_ROOT = resolve(fileURLToPath(import.meta.url), '../../..')

/** Runs pack with command-line arguments; returns the exit code. */
export async function runPackCli (argv: string[]): Promise<number> {
  let values
  try {
    ({ values } = parseArgs({ args: argv, options: { board: { type: 'string' }, out: { type: 'string' }, 'no-build': { type: 'boolean' }, help: { type: 'boolean' } } }))
  } catch (err) {
    console.error(`pack: ${(err as Error).message}`)
    return 2
  }
  if (values.help === true || values.board === undefined) {
    console.error(`usage: firmware-tools/pack.mjs --board NAME [--out DIR] [--no-build]\nboards: ${BOARDS.map((b) => `${b.name} (${b.arch})`).join(', ')}`)
    return values.help === true ? 0 : 2
  }
  try {
    const r = await packBoard({ repoRoot: REPO_ROOT, board: values.board, outDir: values.out === undefined ? undefined : resolve(values.out), skipBuild: values['no-build'], log: (l) => console.log(l) })
    const mib = (n: number): string => (n / 1048576).toFixed(1)
    console.log(`${r.deb} ${mib(r.debBytes)} MiB`)
    console.log(`${r.tarball} ${mib(r.tarballBytes)} MiB`)
    console.log(`installed size ${mib(r.installedKiB * 1024)} MiB; edgemq ${r.info.version} (${r.info.commit}) ${r.info.board}/${r.info.arch}, node ${r.info.node}; ${(r.ms / 1000).toFixed(1)} s`)
    return 0
  } catch (err) {
    console.error(`pack: ${(err as Error).message}`)
    return 1
  }
}
