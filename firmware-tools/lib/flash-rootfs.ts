// firmware-tools/flash: installs the board's package into a mounted root
// filesystem with the rootfs's own dpkg (under qemu-user-static for a foreign
// arch), applies a site config, and leaves first boot to make the secrets.
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chmod, chown, copyFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { getBoard } from '../../src/config/boards.ts'
import { parseConfigText } from '../../src/config/config-file.ts'
import { resolveConfig } from '../../src/config/load-config.ts'
import { EdgemqError, ERROR_CODES } from '../../src/errors.ts'
import { INSTALL_PATHS as P } from './install-paths.ts'
import { renderListenerFiles } from './listener-files.ts'
import { detectRootfsArch } from './rootfs-arch.ts'
import { getTargetArch } from './target-arch.ts'

/** What to flash. */
export interface FlashOptions {
  rootfs: string
  board: string
  /** The .deb to install (its arch must be the board's). */
  deb: string
  /** A site config to install as /etc/edgemq/edgemq.yaml (validated first). */
  configFile?: string
  /** A TLS certificate and key to use instead of generating them at first boot. */
  tlsCert?: string
  tlsKey?: string
  /** SSH port the firewall keeps open (null: closed). */
  sshPort?: number | null
  sshAllow?: readonly string[]
  log?: (line: string) => void
}

/** What a flash did. */
export interface FlashResult {
  rootfsArch: string
  /** Version installed before (undefined on a first flash). */
  previousVersion?: string
  version: string
  /** Time of the dpkg install alone, ms. */
  installMs: number
  ms: number
}

/** Numeric uid/gid of a name in the rootfs's own passwd/group files. */
async function idsInRootfs (rootfs: string, name: string): Promise<{ uid: number, gid: number }> {
  const find = async (file: string): Promise<number> => {
    const line = (await readFile(join(rootfs, 'etc', file), 'utf8')).split('\n').find((l) => l.startsWith(`${name}:`))
    if (line === undefined) throw new EdgemqError(ERROR_CODES.USAGE, `no "${name}" in ${join(rootfs, 'etc', file)}: the package's postinst did not run; run flash again`)
    return Number(line.split(':')[2])
  }
  return { uid: await find('passwd'), gid: await find('group') }
}

/** The version of edgemq dpkg records as installed in the rootfs, if any. */
async function installedVersion (rootfs: string): Promise<string | undefined> {
  let status: string
  try { status = await readFile(join(rootfs, 'var/lib/dpkg/status'), 'utf8') } catch { return undefined }
  const stanza = status.split(/\n\n/).find((s) => /^Package: edgemq$/m.test(s) && /^Status: install ok installed$/m.test(s))
  return stanza === undefined ? undefined : /^Version: (.+)$/m.exec(stanza)?.[1]
}

/** Fails with the fix when the host cannot run the rootfs's binaries. */
function checkCanRun (arch: ReturnType<typeof getTargetArch>): void {
  const hostArch = { x64: 'amd64', arm64: 'arm64', arm: 'armhf' }[process.arch as string]
  if (hostArch === arch.debian) return
  if (!existsSync(`/proc/sys/fs/binfmt_misc/${arch.qemu}`)) {
    throw new EdgemqError(ERROR_CODES.USAGE, `this ${process.arch} host cannot run ${arch.debian} binaries to install into the rootfs: "apt-get install -y qemu-user-static binfmt-support", then "update-binfmts --enable ${arch.qemu}"`)
  }
}

/** Writes a file inside the rootfs with owner and mode (ids from the rootfs, not the host). */
async function putInRootfs (rootfs: string, path: string, data: string | Buffer, mode: number, ids: { uid: number, gid: number }): Promise<void> {
  const full = join(rootfs, path)
  await mkdir(dirname(full), { recursive: true })
  await writeFile(`${full}.flash-tmp`, data)
  await chown(`${full}.flash-tmp`, ids.uid, ids.gid)
  await chmod(`${full}.flash-tmp`, mode)
  await rename(`${full}.flash-tmp`, full)
}

/** Installs (or upgrades in place) edgemq into `rootfs`. Idempotent: config, data and secrets already there are kept. */
export async function flashRootfs (options: FlashOptions): Promise<FlashResult> {
  const t0 = performance.now()
  const log = options.log ?? (() => {})
  const board = getBoard(options.board)
  const arch = getTargetArch(board.arch)
  if (!existsSync(join(options.rootfs, 'etc'))) {
    throw new EdgemqError(ERROR_CODES.USAGE, `${options.rootfs} has no etc/: pass the mounted root filesystem (e.g. /mnt/rootfs), not the boot partition`)
  }
  const rootfsArch = await detectRootfsArch(options.rootfs)
  if (rootfsArch !== arch.debian) {
    throw new EdgemqError(ERROR_CODES.USAGE, `rootfs ${options.rootfs} is ${rootfsArch} but board ${board.name} is ${arch.debian}: pick the board that matches the image (edgemq boards), or the image that matches the board`)
  }
  const debArch = execFileSync('dpkg-deb', ['-f', options.deb, 'Architecture']).toString().trim()
  if (debArch !== arch.debian) {
    throw new EdgemqError(ERROR_CODES.USAGE, `${options.deb} is for ${debArch}, board ${board.name} needs ${arch.debian}: run firmware-tools/pack.mjs --board ${board.name}`)
  }
  // Read and check the site config before touching the rootfs: a bad file changes nothing.
  const siteText = options.configFile === undefined ? undefined : await readFile(options.configFile, 'utf8')
  if (siteText !== undefined) await resolveConfig({ file: parseConfigText(siteText, options.configFile as string), flags: { board: board.name } })
  checkCanRun(arch)

  const previousVersion = await installedVersion(options.rootfs)
  const version = execFileSync('dpkg-deb', ['-f', options.deb, 'Version']).toString().trim()
  log(`${previousVersion === undefined ? 'installing' : `upgrading ${previousVersion} →`} edgemq ${version} into ${options.rootfs} (${rootfsArch})`)
  const inside = '/var/cache/edgemq-flash.deb'
  await copyFile(options.deb, join(options.rootfs, inside))
  const tInstall = performance.now()
  try {
    // confold: a site's edited files win over the package's; never a prompt.
    execFileSync('chroot', [options.rootfs, '/usr/bin/dpkg', '--force-confold', '--force-confdef', '-i', inside], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C' }
    })
  } catch (err) {
    const e = err as { stderr?: Buffer, stdout?: Buffer }
    throw new EdgemqError(ERROR_CODES.USAGE, `dpkg -i in ${options.rootfs} failed: ${(e.stderr ?? e.stdout ?? '').toString().trim().split('\n').slice(-5).join(' | ')} (missing dependencies: chroot ${options.rootfs} apt-get install -y openssl)`, { cause: err })
  } finally {
    await rm(join(options.rootfs, inside), { force: true })
  }
  const installMs = performance.now() - tInstall

  const ids = await idsInRootfs(options.rootfs, 'edgemq')
  const rootGroup = { uid: 0, gid: ids.gid }
  if (siteText !== undefined) await putInRootfs(options.rootfs, P.config, siteText, 0o640, rootGroup)
  if (options.tlsCert !== undefined && options.tlsKey !== undefined) {
    await putInRootfs(options.rootfs, P.tlsCert, await readFile(options.tlsCert), 0o644, rootGroup)
    await putInRootfs(options.rootfs, P.tlsKey, await readFile(options.tlsKey), 0o640, rootGroup)
  }
  // Files that follow the effective config's listeners: firewall, jail ports, unit drop-in.
  const configText = await readFile(join(options.rootfs, P.config), 'utf8')
  const resolved = await resolveConfig({ file: parseConfigText(configText, P.config), flags: { board: board.name } })
  const files = renderListenerFiles(resolved.config.listeners, { sshPort: options.sshPort, sshAllow: options.sshAllow, heap: resolved.config.runtime })
  await putInRootfs(options.rootfs, P.nftables, files.nftables, 0o644, { uid: 0, gid: 0 })
  await putInRootfs(options.rootfs, P.fail2banSiteJail, files.jail, 0o644, { uid: 0, gid: 0 })
  await putInRootfs(options.rootfs, P.siteDropIn, files.dropIn, 0o644, { uid: 0, gid: 0 })
  return { rootfsArch, previousVersion, version, installMs, ms: performance.now() - t0 }
}
