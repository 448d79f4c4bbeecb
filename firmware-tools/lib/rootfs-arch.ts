// Which architecture a mounted root filesystem is for, read from the ELF
// header of a binary inside it (never from the host running the tool).
import { open, lstat } from 'node:fs/promises'
import { join } from 'node:path'
import { EdgemqError, ERROR_CODES } from '../../src/errors.ts'
import { debianArchOfElf, type DebianArch } from './target-arch.ts'

// Regular files (not symlinks, which may be absolute and point at the host) on Debian-family systems.
const PROBES = ['usr/bin/dpkg', 'usr/bin/ls', 'usr/bin/cat', 'bin/ls', 'usr/bin/env']

/** The Debian arch of the rootfs at `root`; a clear error when it is not a Linux rootfs. */
export async function detectRootfsArch (root: string): Promise<DebianArch> {
  for (const rel of PROBES) {
    const path = join(root, rel)
    try {
      if (!(await lstat(path)).isFile()) continue
    } catch { continue }
    const fh = await open(path, 'r')
    try {
      const buf = Buffer.alloc(20)
      await fh.read(buf, 0, 20, 0)
      const arch = debianArchOfElf(buf)
      if (arch !== undefined) return arch
    } finally { await fh.close() }
  }
  throw new EdgemqError(ERROR_CODES.USAGE, `${root} does not look like a Debian or Raspberry Pi OS root filesystem (none of ${PROBES.join(', ')} is an ELF binary of a known arch): pass the mounted rootfs partition, not the boot partition`)
}
