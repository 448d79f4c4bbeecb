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
import { BrokerProcess } from './broker-process.ts'
import { drainSessions, queueMessages, setupSessions } from './loads/session-load.ts'
import { CLOCK_TICKS_PER_SECOND } from './proc-stats.ts'
import { settledMemory, toMiB } from './scenarios/scenario-context.ts'
import { median, parseAbArgs, runAlternating } from './ab-args.ts'


const args = parseAbArgs()
const runs = args.number('--runs', 3)
const sessions = args.number('--sessions', 500)
const messages = args.number('--messages', 50_000)
const commands = args.commands('drain-ab.ts [--runs N] "cmd A" ["cmd B" ...]')

interface Row { drainCpuS: number, drainS: number, rssQueuedMiB: number, rssRestartedMiB: number, peakRssMiB: number }
const results = await runAlternating<Row>(runs, commands, 'drain-ab', async (launch) => {
  const set = { port: launch.port, sessions, prefix: 'ab' }
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
    if (!drained.complete) throw new Error(`${launch.label}: drained ${drained.distinct} of ${messages}`)
    return {
      drainCpuS: Math.round((cpu1 - cpu0) / CLOCK_TICKS_PER_SECOND * 100) / 100,
      drainS: drained.ms / 1000,
      rssQueuedMiB: toMiB(queued.rssKiB),
      rssRestartedMiB: toMiB(restarted.rssKiB),
      peakRssMiB: toMiB(broker.memory().hwmKiB)
    }
  } finally {
    await broker.stop()
  }
})
for (const [cmd, rows] of results) {
  const m = (k: keyof Row): number => median(rows.map((x) => x[k]))
  console.log(`median of ${rows.length}: ${cmd}: drain ${m('drainCpuS')} s CPU, ${m('drainS')} s wall; RSS ${m('rssQueuedMiB')} MiB queued, ${m('rssRestartedMiB')} after the restart, peak ${m('peakRssMiB')} in the drain`)
}
