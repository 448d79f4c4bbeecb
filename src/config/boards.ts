// Board profiles: data in boards/*.json, embedded in the bundle at build time.
import { readFile } from 'node:fs/promises'
import cm4 from '../../boards/cm4.json' with { type: 'json' }
import genericArm64 from '../../boards/generic-arm64.json' with { type: 'json' }
import genericX64 from '../../boards/generic-x64.json' with { type: 'json' }
import generic from '../../boards/generic.json' with { type: 'json' }
import rpi3bPlus from '../../boards/rpi-3b-plus.json' with { type: 'json' }
import rpi4b1gb from '../../boards/rpi-4b-1gb.json' with { type: 'json' }
import rpi4b from '../../boards/rpi-4b.json' with { type: 'json' }
import rpi5 from '../../boards/rpi-5.json' with { type: 'json' }
import rpiZero2w from '../../boards/rpi-zero-2w.json' with { type: 'json' }
import { EdgemqError, ERROR_CODES } from '../errors.ts'

/** One board profile (boards/schema.json). */
export interface BoardProfile {
  name: string
  description: string
  /** Debian architecture of the package for this board. */
  arch: 'arm64' | 'armhf' | 'amd64'
  memoryMiB: number
  /** Prefixes of /proc/device-tree/model that select this board. */
  match: string[]
  /** Memory cap of the broker service (systemd MemoryMax, cgroup limit). */
  memoryCapMiB: number
  /** Config values in config-file shape; only board-settable keys. */
  settings: Record<string, unknown>
}

/** Every profile shipped, by name. */
export const BOARDS: readonly BoardProfile[] = [
  rpiZero2w, rpi3bPlus, rpi4b1gb, rpi4b, cm4, rpi5, genericArm64, genericX64, generic
] as BoardProfile[]

/** The profile called `name`; a clear error listing the names when there is none. */
export function getBoard (name: string): BoardProfile {
  const board = BOARDS.find((b) => b.name === name)
  if (board === undefined) {
    throw new EdgemqError(ERROR_CODES.BOARD_UNKNOWN, `unknown board "${name}": use one of ${BOARDS.map((b) => b.name).join(', ')} (edgemq boards lists them)`)
  }
  return board
}

/** Where detection looks; injectable for tests. */
export interface BoardProbe {
  model: () => Promise<string | undefined>
  memoryMiB: () => Promise<number | undefined>
  arch: () => string
}

const systemProbe: BoardProbe = {
  model: async () => {
    try {
      return (await readFile('/proc/device-tree/model', 'utf8')).replace(/\0/g, '').trim()
    } catch { return undefined }
  },
  memoryMiB: async () => {
    try {
      const m = /MemTotal:\s+(\d+) kB/.exec(await readFile('/proc/meminfo', 'utf8'))
      return m === null ? undefined : Math.round(Number(m[1]) / 1024)
    } catch { return undefined }
  },
  arch: () => process.arch
}

/** Picks the board for this machine: device-tree model first, then memory among the matches; `generic` when nothing matches. */
export async function detectBoard (probe: BoardProbe = systemProbe): Promise<{ board: BoardProfile, reason: string }> {
  const model = await probe.model()
  if (model !== undefined) {
    const candidates = BOARDS.filter((b) => b.match.some((m) => model.startsWith(m)))
    if (candidates.length > 0) {
      const mem = await probe.memoryMiB()
      // The largest variant that fits the RAM (MemTotal reads below the nominal size).
      const fitting = candidates.filter((b) => mem === undefined || b.memoryMiB <= mem * 1.15).sort((a, b) => b.memoryMiB - a.memoryMiB)
      const board = fitting[0] ?? [...candidates].sort((a, b) => a.memoryMiB - b.memoryMiB)[0]
      return { board, reason: `device-tree model "${model}"${mem === undefined ? '' : `, ${mem} MiB RAM`}` }
    }
  }
  return { board: getBoard('generic'), reason: model === undefined ? 'no /proc/device-tree/model' : `no profile matches model "${model}"` }
}
