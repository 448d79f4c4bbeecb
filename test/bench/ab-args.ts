// The command line of the A/B tools (connect-ab, drain-ab, enqueue-ab): numeric
// options, flags, and the broker commands to compare, in the order given; and
// the alternating runs they share.
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../helpers/free-port.ts'
import { renderEdgemqConfig } from './broker-configs.ts'
import type { BrokerLaunch } from './broker-process.ts'

export interface AbArgs {
  /** A numeric option's value (`--name N`), or `fallback`. */
  number: (name: string, fallback: number) => number
  /** Whether a flag (`--name`) was given. */
  flag: (name: string) => boolean
  /** What is left once every option read so far is taken out: the broker commands. Exits with `usage` when there is none. */
  commands: (usage: string) => string[]
}

export function parseAbArgs (argv: string[] = process.argv.slice(2)): AbArgs {
  const args = [...argv]
  return {
    number: (name, fallback) => {
      const i = args.indexOf(name)
      if (i < 0) return fallback
      const v = Number(args[i + 1])
      if (!Number.isFinite(v)) { console.error(`${name} takes a number, got ${String(args[i + 1])}`); process.exit(2) }
      args.splice(i, 2)
      return v
    },
    flag: (name) => {
      const i = args.indexOf(name)
      if (i >= 0) args.splice(i, 1)
      return i >= 0
    },
    commands: (usage) => {
      if (args.length === 0) { console.error(`usage: ${usage}`); process.exit(2) }
      return args
    }
  }
}

/**
 * Runs `body` for every command, `runs` times, alternating the order (A B, B A, ...) so a slow spell of
 * a shared machine falls on both; each call gets a fresh persistent-store broker launch of its command
 * (`-c <config>` appended, pinned to core 0) and its temp folder is removed after. The rows per command.
 */
export async function runAlternating<Row> (runs: number, commands: string[], label: string, body: (launch: BrokerLaunch, run: number) => Promise<Row>): Promise<Map<string, Row[]>> {
  const results = new Map<string, Row[]>()
  for (let r = 0; r < runs; r++) {
    for (const cmd of r % 2 === 0 ? commands : [...commands].reverse()) {
      const dir = await mkdtemp(join(tmpdir(), `edgemq-${label}-`))
      try {
        await mkdir(join(dir, 'data'), { recursive: true })
        const port = await freePort()
        const config = join(dir, 'edgemq.yaml')
        await writeFile(config, renderEdgemqConfig({ port, persistence: true, dir, maxInflight: 20 }, 'generic-x64'))
        const [command, ...rest] = cmd.split(' ')
        const row = await body({ label: cmd, command, args: [...rest, '-c', config], cwd: process.cwd(), port, cores: '0', nofile: 20_000 }, r)
        console.log(`run ${r + 1} ${cmd}: ${JSON.stringify(row)}`)
        results.set(cmd, [...(results.get(cmd) ?? []), row])
      } finally {
        await rm(dir, { recursive: true, force: true })
      }
    }
  }
  return results
}

/** The median (upper middle of an even count). */
export const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] }
