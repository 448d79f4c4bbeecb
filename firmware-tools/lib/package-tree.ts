// Lays out the installed file tree of the package for one board: bundle,
// addon, runtime, profile, defaults, units, Fail2Ban files, docs, manifest.
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chmod, copyFile, cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { BoardProfile } from '../../src/config/boards.ts'
import { EdgemqError, ERROR_CODES } from '../../src/errors.ts'
import { renderDefaultAcl, renderDefaultConfig } from './default-config.ts'
import { renderPostinst, renderPostrm, renderPrerm } from './deb-maintainer-scripts.ts'
import { renderFail2banFilter } from './fail2ban-files.ts'
import { renderFirstBootScript, renderWaitReadyScript } from './first-boot-script.ts'
import { INSTALL_PATHS as P } from './install-paths.ts'
import { DEFAULT_LISTENERS, readyTarget, renderListenerFiles } from './listener-files.ts'
import { buildManifest } from './manifest.ts'
import { installRuntime, type RuntimePin } from './node-runtime.ts'
import { renderBrokerUnit, renderFirstBootUnit } from './systemd-unit.ts'
import type { TargetArch } from './target-arch.ts'

/** What describes one build; written to /opt/edgemq/build-info.json for `edgemq version`. */
export interface BuildInfo {
  name: 'edgemq'
  version: string
  commit: string
  board: string
  arch: string
  node: string
}

async function put (root: string, path: string, text: string | Buffer, mode = 0o644): Promise<void> {
  const full = join(root, path)
  await mkdir(dirname(full), { recursive: true })
  await writeFile(full, text)
  await chmod(full, mode)
}

/**
 * Builds the bundle for one arch into `outDir` (build.mjs --outdir): other
 * builds in the same tree replace dist/ at any time, so pack never reads it.
 * With `fromDist`, copies an existing dist/ instead of building (no rebuild).
 */
export async function buildBundle (repoRoot: string, arch: TargetArch, outDir: string, options: { fromDist?: boolean } = {}): Promise<string> {
  if (options.fromDist === true) {
    const dist = join(repoRoot, 'dist')
    if (!existsSync(join(dist, 'edgemq.mjs')) || !existsSync(join(dist, 'prebuilds', arch.prebuilds))) {
      throw new EdgemqError(ERROR_CODES.USAGE, `dist/ has no bundle with the ${arch.prebuilds} addon: run "node build.mjs --arch ${arch.node}" or pack without --no-build`)
    }
    await rm(outDir, { recursive: true, force: true })
    await cp(dist, outDir, { recursive: true })
    return outDir
  }
  execFileSync(process.execPath, [join(repoRoot, 'build.mjs'), '--arch', arch.node, '--outdir', outDir, '--quiet'], { cwd: repoRoot, stdio: 'inherit' })
  return outDir
}

/** Fills `root` with the installed tree (no DEBIAN/). Returns the manifest text written into it. */
export async function layOutPackageTree (options: {
  root: string
  repoRoot: string
  dist: string
  board: BoardProfile
  arch: TargetArch
  runtimeDir: string
  runtimePin: RuntimePin
  info: BuildInfo
}): Promise<string> {
  const { root, dist, board, arch } = options
  const opt = join(root, P.prefix)
  await mkdir(opt, { recursive: true })
  // Only what the broker runs: source maps, types and the crypto library export stay on the build machine.
  for (const f of ['edgemq.mjs', 'edgemq.mjs.LEGAL.txt', 'package.json']) {
    if (existsSync(join(dist, f))) await copyFile(join(dist, f), join(opt, f))
  }
  await cp(join(dist, 'prebuilds', arch.prebuilds), join(opt, 'prebuilds', arch.prebuilds), { recursive: true })
  await installRuntime(options.runtimeDir, join(opt, 'node'))
  await put(root, P.board, JSON.stringify(board, null, 2) + '\n')
  await put(root, P.buildInfo, JSON.stringify(options.info, null, 2) + '\n')

  await put(root, P.cli, `#!/bin/sh\n# edgemq ${options.info.version} (${options.info.commit}) for ${board.name}\nexport EDGEMQ_BOARD=${board.name}\nexec ${P.node} ${P.bundle} "$@"\n`, 0o755)
  await put(root, P.firstBoot, renderFirstBootScript(), 0o755)
  await put(root, P.waitReady, renderWaitReadyScript())
  await put(root, join(P.libexec, 'maintainer/postinst'), renderPostinst(), 0o755)
  await put(root, join(P.libexec, 'maintainer/prerm'), renderPrerm(), 0o755)
  await put(root, join(P.libexec, 'maintainer/postrm'), renderPostrm(), 0o755)

  const limits = (board.settings.limits ?? {}) as { maxConnections?: number }
  await put(root, P.brokerUnit, renderBrokerUnit({
    board,
    ports: DEFAULT_LISTENERS.map((l) => l.port),
    readyTargets: DEFAULT_LISTENERS.map(readyTarget),
    maxConnections: limits.maxConnections
  }))
  await put(root, P.firstBootUnit, renderFirstBootUnit())

  const files = renderListenerFiles(DEFAULT_LISTENERS)
  await put(root, join(P.defaults, 'edgemq.yaml'), renderDefaultConfig(board))
  await put(root, join(P.defaults, 'acl.yaml'), renderDefaultAcl())
  await put(root, join(P.defaults, 'passwd'), '')
  await put(root, join(P.defaults, 'edgemq.nft'), files.nftables)
  await put(root, P.fail2banFilter, renderFail2banFilter())
  await put(root, P.fail2banJail, files.jail)

  const deploy = join(options.repoRoot, 'docs', 'deploy.md')
  if (existsSync(deploy)) await put(root, join(P.docs, 'deploy.md'), await readFile(deploy))
  await put(root, join(P.docs, 'copyright'), `edgemq ${options.info.version}: MIT license.\nBundled Node.js ${options.runtimePin.version}: see ${P.prefix}/node/LICENSE.\nBundled npm packages: see ${P.prefix}/edgemq.mjs.LEGAL.txt where present.\n`)

  const manifest = await buildManifest(root, [P.manifest])
  await put(root, P.manifest, manifest)
  return manifest
}
