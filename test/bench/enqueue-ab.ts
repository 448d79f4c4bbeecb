// A/B of the offline enqueue (issue 11): one broker command per argument, run
// back to back and alternating, each on a fresh store: 500 persistent sessions,
// 100 QoS 1 messages each queued while they are offline (the drain scenario's
// enqueue phase), and per run the rate, the broker's CPU per message and the
// bytes it wrote per message. CPU per message is the figure to compare on a
// shared machine (rates swing with other jobs).
//   node --import tsx test/bench/enqueue-ab.ts [--runs N] [--sessions N] [--messages N] "node /tmp/a/edgemq.mjs start" "node /tmp/b/edgemq.mjs start"
// Each command gets `-c <config>` appended; it runs pinned to core 0, the load on this process's core.
import { BrokerProcess, sleep } from './broker-process.ts'
import { queueMessages, setupSessions } from './loads/session-load.ts'
import { CLOCK_TICKS_PER_SECOND } from './proc-stats.ts'
import { median, parseAbArgs, runAlternating } from './ab-args.ts'


const args = parseAbArgs()
const runs = args.number('--runs', 3)
const sessions = args.number('--sessions', 500)
const messages = args.number('--messages', 50_000)
const commands = args.commands('enqueue-ab.ts [--runs N] "cmd A" ["cmd B" ...]')

const results = await runAlternating(runs, commands, 'enqueue-ab', async (launch) => {
  const broker = await BrokerProcess.start(launch)
  try {
    const set = { port: launch.port, sessions, prefix: 'ab' }
    await setupSessions(set)
    await sleep(1_000)
    const io0 = broker.io()
    const cpu0 = broker.cpuTicks()
    const q = await queueMessages({ ...set, messages, payloadBytes: 64, inflight: 100 })
    const cpu1 = broker.cpuTicks()
    await sleep(1_500) // the batch mode's fsync and the lazy writes land
    const io1 = broker.io()
    return { rate: q.perSecond, cpuUsPerMsg: Math.round((cpu1 - cpu0) / CLOCK_TICKS_PER_SECOND * 1e6 / messages * 10) / 10, bytesPerMsg: Math.round((io1.writeBytes - io0.writeBytes) / messages) }
  } finally {
    await broker.stop()
  }
})
for (const [cmd, rows] of results) {
  console.log(`median of ${rows.length}: ${cmd}: ${median(rows.map((x) => x.rate))} msg/s, ${median(rows.map((x) => x.cpuUsPerMsg))} µs CPU/msg, ${median(rows.map((x) => x.bytesPerMsg))} B/msg`)
}
