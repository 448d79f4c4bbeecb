// Argument handling of firmware-tools/flash.mjs.
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { getBoard } from '../../src/config/boards.ts'
import { flashRootfs } from './flash-rootfs.ts'
import { packBoard } from './pack-board.ts'
import { detectRootfsArch } from './rootfs-arch.ts'
import { getTargetArch } from './target-arch.ts'

const REPO_ROOT = resolve(fileURLToPath(import.meta.url), '../../..')
const USAGE = 'usage: firmware-tools/flash.mjs --rootfs DIR --board NAME [--config site.yaml] [--package FILE.deb] [--tls-cert FILE --tls-key FILE] [--ssh-port N|none] [--ssh-allow CIDR]...'

/** The board a .deb was built for (its build-info.json), or undefined when unreadable. */
export function debBoard (deb: string): string | undefined {
  try {
    const json = execFileSync('sh', ['-c', 'dpkg-deb --fsys-tarfile "$1" | tar -xOf - ./opt/edgemq/build-info.json', 'sh', deb], { stdio: ['ignore', 'pipe', 'ignore'] }).toString()
    return (JSON.parse(json) as { board?: string }).board
  } catch { return undefined }
}

/** Runs flash with command-line arguments; returns the exit code. */
export async function runFlashCli (argv: string[]): Promise<number> {
  let values
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        rootfs: { type: 'string' }, board: { type: 'string' }, config: { type: 'string' }, package: { type: 'string' },
        'tls-cert': { type: 'string' }, 'tls-key': { type: 'string' }, 'ssh-port': { type: 'string' }, 'ssh-allow': { type: 'string', multiple: true },
        help: { type: 'boolean' }
      }
    }))
  } catch (err) {
    console.error(`flash: ${(err as Error).message}\n${USAGE}`)
    return 2
  }
  if (values.help === true) { console.log(USAGE); return 0 }
  if (values.rootfs === undefined || values.board === undefined) { console.error(USAGE); return 2 }
  if (process.getuid?.() !== 0) {
    console.error('flash: run it as root (it chroots into the rootfs and sets owners there): sudo npm run flash -- ...')
    return 2
  }
  if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined)) {
    console.error('flash: --tls-cert and --tls-key go together (a certificate and its private key)')
    return 2
  }
  const sshPortRaw = values['ssh-port']
  const sshPort = sshPortRaw === undefined ? undefined : sshPortRaw === 'none' ? null : Number(sshPortRaw)
  if (sshPort !== undefined && sshPort !== null && !(Number.isInteger(sshPort) && sshPort > 0 && sshPort < 65536)) {
    console.error(`flash: --ssh-port must be a port number or "none": got "${sshPortRaw}"`)
    return 2
  }
  try {
    const board = getBoard(values.board)
    // Check the rootfs before a pack that takes minutes.
    const rootfsArch = await detectRootfsArch(resolve(values.rootfs))
    if (rootfsArch !== board.arch) {
      console.error(`flash: rootfs ${values.rootfs} is ${rootfsArch} but board ${board.name} is ${board.arch}: pick the board that matches the image, or the image that matches the board`)
      return 1
    }
    let deb = values.package === undefined ? undefined : resolve(values.package)
    if (deb === undefined) {
      const pkg = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }
      const candidate = join(REPO_ROOT, 'out', `edgemq_${pkg.version}_${getTargetArch(board.arch).debian}.deb`)
      if (existsSync(candidate) && debBoard(candidate) === board.name) deb = candidate
      else deb = (await packBoard({ repoRoot: REPO_ROOT, board: board.name, log: (l) => console.log(l) })).deb
    } else if (debBoard(deb) !== board.name) {
      console.error(`flash: ${deb} was built for board "${debBoard(deb) ?? 'unknown'}", not ${board.name}: run firmware-tools/pack.mjs --board ${board.name}`)
      return 2
    }
    const r = await flashRootfs({
      rootfs: resolve(values.rootfs),
      board: board.name,
      deb,
      configFile: values.config === undefined ? undefined : resolve(values.config),
      tlsCert: values['tls-cert'],
      tlsKey: values['tls-key'],
      sshPort,
      sshAllow: values['ssh-allow'],
      log: (l) => console.log(l)
    })
    console.log(`edgemq ${r.version} ${r.previousVersion === undefined ? 'installed' : `upgraded from ${r.previousVersion}`} in ${values.rootfs} (${r.rootfsArch}); dpkg ${(r.installMs / 1000).toFixed(1)} s, total ${(r.ms / 1000).toFixed(1)} s`)
    console.log('first boot makes the TLS key and certificate and the admin password (/etc/edgemq/initial-admin-password, root only)')
    return 0
  } catch (err) {
    console.error(`flash: ${(err as Error).message}`)
    return 1
  }
}
