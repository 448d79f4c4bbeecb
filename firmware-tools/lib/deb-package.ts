// Wraps a laid-out tree into a .deb (dpkg-deb) and a .tar.gz for non-Debian systems.
import { execFileSync } from 'node:child_process'
import { chmod, mkdir, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { renderControl, renderPostinst, renderPostrm, renderPrerm } from './deb-maintainer-scripts.ts'
import { INSTALL_PATHS as P } from './install-paths.ts'
import { listFiles } from './manifest.ts'

/** Total size of the files under `dir`, KiB (for Installed-Size). */
export async function treeSizeKiB (dir: string): Promise<number> {
  let bytes = 0
  for (const f of await listFiles(dir)) bytes += (await stat(join(dir, f))).size
  return Math.ceil(bytes / 1024)
}

/** Writes DEBIAN/ into `root` and builds `debPath` with dpkg-deb (root-owned files, xz). */
export async function buildDeb (root: string, debPath: string, meta: { version: string, arch: string, board: string }): Promise<void> {
  const installedSizeKiB = await treeSizeKiB(root)
  const debian = join(root, 'DEBIAN')
  await rm(debian, { recursive: true, force: true })
  await mkdir(debian)
  await writeFile(join(debian, 'control'), renderControl({ ...meta, installedSizeKiB }))
  // The Fail2Ban files are the admin's to tune: dpkg keeps local edits on upgrade.
  await writeFile(join(debian, 'conffiles'), `${P.fail2banFilter}\n${P.fail2banJail}\n`)
  for (const [name, text] of [['postinst', renderPostinst()], ['prerm', renderPrerm()], ['postrm', renderPostrm()]]) {
    await writeFile(join(debian, name), text)
    await chmod(join(debian, name), 0o755)
  }
  execFileSync('dpkg-deb', ['--root-owner-group', '-Zxz', '-z6', '--build', root, debPath], { stdio: ['ignore', 'ignore', 'inherit'] })
  await rm(debian, { recursive: true, force: true })
}

/** Builds the tarball: the same tree, extracted with `tar -xzf FILE -C /`, then /usr/lib/edgemq/maintainer/postinst configure. */
export function buildTarball (root: string, tarPath: string): void {
  execFileSync('tar', ['-czf', tarPath, '--owner=0', '--group=0', '--numeric-owner', '--sort=name', '-C', root, '.'], { stdio: ['ignore', 'ignore', 'inherit'] })
}
