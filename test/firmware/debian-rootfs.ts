// An arm64 (or armhf) Debian root filesystem for the firmware test, made with
// `debootstrap --foreign` on the host and finished under qemu-user-static.
// The second stage takes minutes under emulation, so the finished tree is
// cached as a tarball under .cache/ and unpacked fresh for each run.
//
//   node --import tsx test/firmware/debian-rootfs.ts arm64 /tmp/rootfs   make (or unpack) one
//
// The Debian mirror and suite are read from this machine's apt sources at run
// time, never written into the repo: the test uses whatever mirror the host uses.
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = resolve(fileURLToPath(import.meta.url), '../../..')
/** Where finished root filesystems are cached between runs: EDGEMQ_CACHE_DIR (CI keeps it outside the clone), else .cache/ (git-ignored). */
export const CACHE_DIR = process.env.EDGEMQ_CACHE_DIR ?? join(ROOT, '.cache')

// What the rootfs needs beyond minbase: openssl for the first-boot TLS key,
// ca-certificates so openssl has its config; nothing the broker brings itself.
const EXTRA_PACKAGES = ['openssl', 'ca-certificates']

/** The Debian mirror and suite this machine's apt uses (deb822 .sources or one-line lists). */
export async function readHostMirror (): Promise<{ mirror: string, suite: string }> {
  const files = ['/etc/apt/sources.list']
  try {
    for (const f of await readdir('/etc/apt/sources.list.d')) files.push(join('/etc/apt/sources.list.d', f))
  } catch {}
  for (const file of files) {
    let text: string
    try { text = await readFile(file, 'utf8') } catch { continue }
    // deb822: a stanza with "URIs: .../debian" and "Suites: bookworm ..."
    for (const stanza of text.split(/\n\s*\n/)) {
      const uri = /^URIs:\s*(\S+)/m.exec(stanza)?.[1]
      const suite = /^Suites:\s*(\S+)/m.exec(stanza)?.[1]
      if (uri !== undefined && suite !== undefined && /\/debian\/?$/.test(uri) && !/-(security|updates|backports)$/.test(suite)) {
        return { mirror: uri, suite }
      }
    }
    for (const line of text.split('\n')) {
      const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+\/debian\/?)\s+(\S+)/.exec(line.trim())
      if (m !== null && !/-(security|updates|backports)$/.test(m[2])) return { mirror: m[1], suite: m[2] }
    }
  }
  throw new Error('no Debian mirror in /etc/apt/sources.list or /etc/apt/sources.list.d: the firmware test builds its rootfs from the mirror the host uses; add a Debian "deb" line or .sources stanza')
}

/** Fails with the install command when a host tool the test needs is missing. */
export function requireHostTools (tools: ReadonlyArray<[string, string]>): void {
  const missing = tools.filter(([bin]) => {
    try { execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }); return false } catch { return true }
  })
  if (missing.length > 0) {
    const pkgs = [...new Set(missing.map(([, pkg]) => pkg))].join(' ')
    throw new Error(`missing ${missing.map(([b]) => b).join(', ')}: install with "apt-get install -y ${pkgs}"`)
  }
}

/** Whether the kernel will run binaries of `arch` (qemu-user-static registered with binfmt_misc). */
export function checkBinfmt (arch: 'arm64' | 'armhf'): void {
  const entry = arch === 'arm64' ? 'qemu-aarch64' : 'qemu-arm'
  const path = `/proc/sys/fs/binfmt_misc/${entry}`
  if (!existsSync(path)) {
    throw new Error(`${path} is missing: install qemu-user-static and binfmt-support ("apt-get install -y qemu-user-static binfmt-support"), then "update-binfmts --enable ${entry}"`)
  }
}

/**
 * Puts a finished Debian rootfs of `arch` at `dir` (which must not exist):
 * unpacked from the cache when there is one, otherwise built and cached.
 * Returns whether it came from the cache and how long it took.
 */
export async function prepareRootfs (arch: 'arm64' | 'armhf', dir: string, log: (line: string) => void = () => {}): Promise<{ cached: boolean, ms: number }> {
  const t0 = performance.now()
  requireHostTools([['debootstrap', 'debootstrap'], ['chroot', 'coreutils'], ['tar', 'tar']])
  checkBinfmt(arch)
  const { mirror, suite } = await readHostMirror()
  const tarball = join(CACHE_DIR, `rootfs-${suite}-${arch}.tar`)
  await mkdir(dir, { recursive: true })
  if (existsSync(tarball)) {
    execFileSync('tar', ['-xpf', tarball, '-C', dir, '--numeric-owner'])
    return { cached: true, ms: performance.now() - t0 }
  }
  log(`debootstrap ${suite} ${arch} from ${mirror} (first run: several minutes under emulation)`)
  execFileSync('debootstrap', ['--foreign', `--arch=${arch}`, '--variant=minbase', `--include=${EXTRA_PACKAGES.join(',')}`, suite, dir, mirror], { stdio: ['ignore', 'ignore', 'inherit'] })
  execFileSync('chroot', [dir, '/debootstrap/debootstrap', '--second-stage'], { stdio: ['ignore', 'ignore', 'inherit'] })
  await mkdir(CACHE_DIR, { recursive: true })
  const partial = `${tarball}.partial`
  execFileSync('tar', ['-cpf', partial, '-C', dir, '--numeric-owner', '.'])
  await rename(partial, tarball)
  return { cached: false, ms: performance.now() - t0 }
}

/** Removes a rootfs made by prepareRootfs, unmounting anything left mounted inside it first. */
export async function removeRootfs (dir: string): Promise<void> {
  const mounts = (await readFile('/proc/mounts', 'utf8')).split('\n').map((l) => l.split(' ')[1]).filter((m) => m !== undefined && (m === dir || m.startsWith(dir + '/')))
  for (const m of mounts.sort().reverse()) {
    try { execFileSync('umount', ['-l', m], { stdio: 'ignore' }) } catch {}
  }
  await rm(dir, { recursive: true, force: true })
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arch = (process.argv[2] ?? 'arm64') as 'arm64' | 'armhf'
  const dir = process.argv[3] ?? join(CACHE_DIR, `rootfs-${arch}-scratch`)
  const r = await prepareRootfs(arch, dir, console.log)
  console.log(`rootfs ${arch} at ${dir}: ${r.cached ? 'from cache' : 'built'} in ${(r.ms / 1000).toFixed(1)} s`)
}
