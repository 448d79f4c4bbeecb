// A/B of the queue drain and the RSS with queued messages (issue 11): one
// broker command per argument, run back to back and alternating, each on a
// fresh store: 500 persistent sessions, 100 QoS 1 messages each queued while
// they are offline, RSS with them queued, SIGTERM, restart on the same store,
// RSS after the restart, then all sessions reconnect (200 at a time) and
// acknowledge until every message arrived once. Per run: the broker's CPU for
// the drain (all its threads), the drain's wall time, and the RSS figures.
// CPU for the drain is the figure to compare on a shared machine.
//   node --import tsx test/bench/drain-ab.ts [--runs N] [--sessions N] [--messages N] "node /tmp/a/edgemq.mjs start" "node /tmp/b/edgemq.mjs start"
// Each command gets `-c <config>` appended; it runs pinned to core 0, the load on this process's core.
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer } from 'node:net'
import { BrokerProcess, type BrokerLaunch } from './broker-process.ts'
import { renderEdgemqConfig } from './broker-configs.ts'
import { drainSessions, queueMessages, setupSessions } from './loads/session-load.ts'
import { CLOCK_TICKS_PER_SECOND } from './proc-stats.ts'
import { settledMemory, toMiB } from './scenarios/scenario-context.ts'

function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)) })
  })
}

const args = process.argv.slice(2)
function option (name: string, fallback: number): number {
  const i = args.indexOf(name)
  if (i < 0) return fallback
  const v = Number(args[i + 1])
  args.splice(i, 2)
  return v
}
const runs = option('--runs', 3)
const sessions = option('--sessions', 500)
const messages = option('--messages', 50_000)
const commands = args
if (commands.length === 0) { console.error('usage: drain-ab.ts [--runs N] "cmd A" ["cmd B" ...]'); process.exit(2) }

interface Row { drainCpuS: number, drainS: number, rssQueuedMiB: number, rssRestartedMiB: number, peakRssMiB: number }
const results = new Map<string, Row[]>()
for (let r = 0; r < runs; r++) {
  const order = r % 2 === 0 ? commands : [...commands].reverse()
  for (const cmd of order) {
    const dir = await mkdtemp(join(tmpdir(), 'edgemq-drain-ab-'))
    try {
      await mkdir(join(dir, 'data'), { recursive: true })
      const port = await freePort()
      const config = join(dir, 'edgemq.yaml')
      await writeFile(config, renderEdgemqConfig({ port, persistence: true, dir, maxInflight: 20 }, 'generic-x64'))
      const [command, ...rest] = cmd.split(' ')
      const launch: BrokerLaunch = { label: cmd, command, args: [...rest, '-c', config], cwd: process.cwd(), port, cores: '0', nofile: 20_000 }
      const set = { port, sessions, prefix: 'ab' }
      let broker = await BrokerProcess.start(launch)
      let queued: Awaited<ReturnType<typeof settledMemory>>
      try {
        await setupSessions(set)
        await queueMessages({ ...set, messages, payloadBytes: 64, inflight: 100 })
        queued = await settledMemory(broker)
      } finally {
        await broker.stop()
      }
      broker = await BrokerProcess.start(launch)
      try {
        const restarted = await settledMemory(broker)
        const cpu0 = broker.cpuTicks()
        const drained = await drainSessions({ ...set, messages, timeoutMs: 120_000, concurrency: 200 })
        const cpu1 = broker.cpuTicks()
        if (!drained.complete) throw new Error(`${cmd}: drained ${drained.distinct} of ${messages}`)
        const row: Row = {
          drainCpuS: Math.round((cpu1 - cpu0) / CLOCK_TICKS_PER_SECOND * 100) / 100,
          drainS: drained.ms / 1000,
          rssQueuedMiB: toMiB(queued.rssKiB),
          rssRestartedMiB: toMiB(restarted.rssKiB),
          peakRssMiB: toMiB(broker.memory().hwmKiB)
        }
        console.log(`run ${r + 1} ${cmd}: ${JSON.stringify(row)}`)
        results.set(cmd, [...(results.get(cmd) ?? []), row])
      } finally {
        await broker.stop()
      }
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }
}
const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] }
for (const [cmd, rows] of results) {
  const m = (k: keyof Row): number => median(rows.map((x) => x[k]))
  console.log(`median of ${rows.length}: ${cmd}: drain ${m('drainCpuS')} s CPU, ${m('drainS')} s wall; RSS ${m('rssQueuedMiB')} MiB queued, ${m('rssRestartedMiB')} after the restart, peak ${m('peakRssMiB')} in the drain`)
}
