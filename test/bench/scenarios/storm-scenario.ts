// Scenario 7, reconnect storm (issue 16): 1,000 password clients of 50 users
// from 250 source addresses log in at once, each retrying 0.5 s after a
// refusal (20 tries, then it gives up), against a broker with a password file
// made by the broker's own tool (edgemq passwd -U, mosquitto_passwd -U).
// Phases: (1) the storm on a fresh broker; (2) all disconnect and all log in
// again, broker still up; (3) a fresh broker and the same 1,000 behind one
// address; (4) as (1) with the broker in a cgroup v1 memory group capped at
// rpi-zero-2w's memory cap (edgemq with that board profile), for the peak RSS.
// Phase 4 needs root and /sys/fs/cgroup/memory; without them it is left out
// and the report says so.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs'
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sleep } from '../broker-process.ts'
import type { BrokerLaunch } from '../broker-process.ts'
import { stormPassword, type StormParams, type StormResult } from '../loads/storm-load.ts'
import type { ScenarioContext, ScenarioRun } from './scenario-context.ts'
import { toMiB } from './scenario-context.ts'

const CG_ROOT = '/sys/fs/cgroup/memory'
/** Debian's mosquitto_passwd (mosquitto package): Mosquitto's file is made by its own tool. */
const MOSQUITTO_PASSWD = '/usr/bin/mosquitto_passwd'
/** The board whose memory cap and soft mark the RSS phase is held to. */
const SMALL_BOARD = 'rpi-zero-2w'

/** Writes `user<n>:pw-user<n>` lines and hashes them with the broker's own tool. */
async function makePasswordFile (ctx: ScenarioContext, dir: string, board: string | undefined): Promise<string> {
  const file = join(dir, `passwd-${ctx.kind}-${board ?? 'default'}`)
  const lines = Array.from({ length: ctx.counts.stormUsers }, (_, n) => `user${n}:${stormPassword(n)}`)
  await writeFile(file, lines.join('\n') + '\n', { mode: 0o600 })
  await chmod(file, 0o600)
  const tool = ctx.kind === 'mosquitto'
    ? spawnSync(MOSQUITTO_PASSWD, ['-U', file], { encoding: 'utf8' })
    : spawnSync(process.execPath, [join(ctx.root, 'dist/edgemq.mjs'), 'passwd', '-U', ...(board === undefined ? [] : ['--board', board]), file], { encoding: 'utf8' })
  if (tool.error !== undefined || tool.status !== 0) throw new Error(`hashing the ${ctx.kind} password file failed: ${tool.error?.message ?? tool.stderr}`)
  return file
}

function params (ctx: ScenarioContext, port: number, addresses: number): StormParams {
  return { port, clients: ctx.counts.stormClients, users: ctx.counts.stormUsers, addresses, retryMs: 500, maxTries: 20, attemptTimeoutMs: 10_000 }
}

async function runStorm (ctx: ScenarioContext, p: StormParams, label: string): Promise<StormResult> {
  const r = await ctx.worker.call('storm', p)
  ctx.log(`${ctx.kind}: ${label}: ${r.connected}/${p.clients} in ${Number.isNaN(r.allConnectedMs) ? '-' : (r.allConnectedMs / 1000).toFixed(2)} s, ${r.refusals} refusals ${JSON.stringify(r.refusalCodes)}, ${r.gaveUp} gave up, CONNACK p50 ${r.connackP50Ms} ms p99 ${r.connackP99Ms} ms`)
  return r
}

/** A cgroup v1 memory group capped at `capMiB`, or why there is none. */
function makeCgroup (name: string, capMiB: number): { path: string } | { why: string } {
  if (!existsSync(join(CG_ROOT, 'memory.limit_in_bytes'))) return { why: `${CG_ROOT} is not a cgroup v1 memory hierarchy` }
  if (process.getuid?.() !== 0) return { why: 'not root: cannot create a memory cgroup' }
  const path = join(CG_ROOT, name)
  try {
    mkdirSync(path)
    writeFileSync(join(path, 'memory.limit_in_bytes'), String(capMiB * 1048576))
    if (existsSync(join(path, 'memory.memsw.limit_in_bytes'))) writeFileSync(join(path, 'memory.memsw.limit_in_bytes'), String(capMiB * 1048576))
  } catch (err) {
    return { why: `cannot set up ${path}: ${(err as Error).message}` }
  }
  return { path }
}

/**
 * The launch, with the broker joining the cgroup before it execs (every page
 * it touches is charged there). edgemq runs as the packaged service does: one
 * process with the board's heap flags (no re-exec, whose parent would be
 * charged to the group too).
 */
function inCgroup (cg: string, kind: string, heapFlags: readonly string[]) {
  return (launch: BrokerLaunch): BrokerLaunch => {
    const node = kind === 'edgemq' && launch.command === process.execPath
    const args = node ? [...heapFlags, ...launch.args] : launch.args
    return {
      ...launch,
      command: '/bin/sh',
      args: ['-c', `echo $$ > ${cg}/cgroup.procs && exec "$@"`, 'sh', launch.command, ...args],
      // as the packaged unit (firmware-tools/lib/systemd-unit.ts) runs it
      env: node ? { ...(launch.env ?? process.env), EDGEMQ_NO_REEXEC: '1', MALLOC_MMAP_THRESHOLD_: '131072' } : launch.env
    }
  }
}

function smallBoard (root: string): { capMiB: number, softMarkMiB: number, heapFlags: string[] } {
  const profile = JSON.parse(readFileSync(join(root, 'boards', `${SMALL_BOARD}.json`), 'utf8')) as { memoryCapMiB: number, settings: { memory?: { softMark?: string }, runtime?: { maxOldSpace?: number, maxSemiSpace?: number } } }
  const soft = /^(\d+)MB$/.exec(profile.settings.memory?.softMark ?? '')
  const runtime = profile.settings.runtime ?? {}
  return {
    capMiB: profile.memoryCapMiB,
    softMarkMiB: soft === null ? Math.round(profile.memoryCapMiB * 0.7) : Number(soft[1]),
    heapFlags: [
      ...(runtime.maxOldSpace === undefined ? [] : [`--max-old-space-size=${runtime.maxOldSpace}`]),
      ...(runtime.maxSemiSpace === undefined ? [] : [`--max-semi-space-size=${runtime.maxSemiSpace}`])
    ]
  }
}

/** Runs the four phases against one broker kind. */
export const runStormScenario: ScenarioRun = async (ctx) => {
  const metrics: Record<string, number> = {}
  const details: Record<string, unknown> = {}
  const dir = await mkdtemp(join(tmpdir(), 'edgemq-storm-'))
  try {
    const passwordFile = await makePasswordFile(ctx, dir, undefined)

    // (1) and (2): one broker, two storms
    const first = await ctx.startBroker({ persistence: false, passwordFile })
    try {
      const a = await runStorm(ctx, params(ctx, first.broker.port, ctx.counts.stormAddresses), `storm from ${ctx.counts.stormAddresses} addresses`)
      await ctx.worker.call('stormDisconnect', undefined)
      await sleep(500) // the broker notices every close
      const b = await runStorm(ctx, params(ctx, first.broker.port, ctx.counts.stormAddresses), 'second storm, broker still up')
      await ctx.worker.call('stormDisconnect', undefined)
      // "all in" only when all got in: a run where some gave up shows no time (and the gave-up count)
      if (Number.isFinite(a.allConnectedMs)) metrics['storm.allConnectedS'] = a.allConnectedMs / 1000
      metrics['storm.gaveUp'] = a.gaveUp
      metrics['storm.refusals'] = a.refusals
      metrics['storm.connackP50'] = a.connackP50Ms
      metrics['storm.connackP99'] = a.connackP99Ms
      if (Number.isFinite(b.allConnectedMs)) metrics['storm.secondS'] = b.allConnectedMs / 1000
      metrics['storm.secondGaveUp'] = b.gaveUp
      details.first = a
      details.second = b
    } finally {
      details.firstExit = await first.broker.stop()
    }

    // (3) a fresh broker, everybody behind one address
    const nat = await ctx.startBroker({ persistence: false, passwordFile })
    try {
      const c = await runStorm(ctx, params(ctx, nat.broker.port, 1), 'storm from one address')
      await ctx.worker.call('stormDisconnect', undefined)
      if (Number.isFinite(c.allConnectedMs)) metrics['storm.oneAddressS'] = c.allConnectedMs / 1000
      metrics['storm.oneAddressGaveUp'] = c.gaveUp
      details.oneAddress = c
    } finally {
      details.oneAddressExit = await nat.broker.stop()
    }

    // (4) peak RSS under the small board's memory cap
    const small = smallBoard(ctx.root)
    const cg = makeCgroup(`edgemq-bench-storm-${process.pid}-${ctx.kind}`, small.capMiB)
    if ('why' in cg) {
      details.cgroup = { skipped: cg.why }
      ctx.log(`${ctx.kind}: peak-RSS phase left out: ${cg.why}`)
    } else {
      try {
        const smallFile = ctx.kind === 'edgemq' ? await makePasswordFile(ctx, dir, SMALL_BOARD) : passwordFile
        const capped = await ctx.startBroker({ persistence: false, passwordFile: smallFile, board: SMALL_BOARD, wrap: inCgroup(cg.path, ctx.kind, small.heapFlags) })
        try {
          const d = await runStorm(ctx, params(ctx, capped.broker.port, ctx.counts.stormAddresses), `storm in a ${small.capMiB} MiB cgroup (${SMALL_BOARD})`)
          const peak = capped.broker.treeMemory()
          const read = (f: string): string => readFileSync(join(cg.path, f), 'utf8').trim()
          const cgroupPeak = Number(read('memory.max_usage_in_bytes'))
          const oom = /oom_kill (\d+)/.exec(read('memory.oom_control'))?.[1]
          await ctx.worker.call('stormDisconnect', undefined)
          metrics['storm.peakRss'] = toMiB(peak.hwmKiB)
          metrics['storm.cgroupPeak'] = Math.round(cgroupPeak / 1048576 * 100) / 100
          details.capped = { ...d, capMiB: small.capMiB, softMarkMiB: small.softMarkMiB, hwmKiB: peak.hwmKiB, processes: peak.processes, cgroupPeakBytes: cgroupPeak, failcnt: Number(read('memory.failcnt')), oomKills: oom === undefined ? undefined : Number(oom) }
          ctx.log(`${ctx.kind}: peak RSS ${toMiB(peak.hwmKiB)} MiB (soft mark ${small.softMarkMiB} MiB), cgroup peak ${metrics['storm.cgroupPeak']} MiB of ${small.capMiB}`)
        } finally {
          details.cappedExit = await capped.broker.stop()
        }
      } finally {
        for (let i = 0; i < 20; i++) {
          try { rmdirSync(cg.path); break } catch { await sleep(100) } // the last process leaves the group a moment after it exits
        }
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
  return { metrics, details }
}
