// firmware-tools/pack: the .deb and the .tar.gz for one board.
import { execFileSync } from 'node:child_process'
import { mkdir, readFile, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { getBoard } from '../../src/config/boards.ts'
import { buildDeb, buildTarball } from './deb-package.ts'
import { buildBundle, layOutPackageTree, type BuildInfo } from './package-tree.ts'
import { fetchNodeRuntime } from './node-runtime.ts'
import { getTargetArch } from './target-arch.ts'

/** What pack made, with the figures docs/deploy.md reports. */
export interface PackResult {
  deb: string
  tarball: string
  debBytes: number
  tarballBytes: number
  installedKiB: number
  info: BuildInfo
  ms: number
}

function gitCommit (repoRoot: string): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim()
  } catch { return 'unknown' }
}

/** Builds out/edgemq_<version>_<arch>.deb and out/edgemq-<version>-<board>.tar.gz for `boardName`. */
export async function packBoard (options: { repoRoot: string, board: string, outDir?: string, skipBuild?: boolean, log?: (line: string) => void }): Promise<PackResult> {
  const t0 = performance.now()
  const log = options.log ?? (() => {})
  const board = getBoard(options.board)
  const arch = getTargetArch(board.arch)
  const outDir = options.outDir ?? join(options.repoRoot, 'out')
  const pkg = JSON.parse(await readFile(join(options.repoRoot, 'package.json'), 'utf8')) as { version: string }
  log(`edgemq ${pkg.version} for ${board.name} (${arch.debian})`)
  // EDGEMQ_CACHE_DIR lets CI keep the runtime between fresh clones.
  const runtime = await fetchNodeRuntime(arch, join(process.env.EDGEMQ_CACHE_DIR ?? join(options.repoRoot, '.cache'), 'node-runtime'), log)
  const info: BuildInfo = { name: 'edgemq', version: pkg.version, commit: gitCommit(options.repoRoot), board: board.name, arch: arch.debian, node: runtime.pin.version }

  const stage = join(outDir, `.stage-${board.name}`)
  await rm(stage, { recursive: true, force: true })
  await mkdir(stage, { recursive: true })
  const dist = await buildBundle(options.repoRoot, arch, join(outDir, `.dist-${board.name}`), { fromDist: options.skipBuild })
  await layOutPackageTree({ root: stage, repoRoot: options.repoRoot, dist, board, arch, runtimeDir: runtime.dir, runtimePin: runtime.pin, info })

  const deb = join(outDir, `edgemq_${pkg.version}_${arch.debian}.deb`)
  const tarball = join(outDir, `edgemq-${pkg.version}-${board.name}.tar.gz`)
  buildTarball(stage, tarball)
  await buildDeb(stage, deb, { version: pkg.version, arch: arch.debian, board: board.name })
  const installedKiB = Number(execFileSync('dpkg-deb', ['-f', deb, 'Installed-Size']).toString().trim())
  await rm(stage, { recursive: true, force: true })
  await rm(dist, { recursive: true, force: true })
  return { deb, tarball, debBytes: (await stat(deb)).size, tarballBytes: (await stat(tarball)).size, installedKiB, info, ms: performance.now() - t0 }
}
