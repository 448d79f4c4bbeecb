// A/B of the offline enqueue (issue 11): one broker command per argument, run
// back to back and alternating, each on a fresh store: 500 persistent sessions,
// 100 QoS 1 messages each queued while they are offline (the drain scenario's
// enqueue phase), and per run the rate, the broker's CPU per message and the
// bytes it wrote per message. CPU per message is the figure to compare on a
// shared machine (rates swing with other jobs).
//   node --import tsx test/bench/enqueue-ab.ts [--runs N] [--sessions N] [--messages N] "node /tmp/a/edgemq.mjs start" "node /tmp/b/edgemq.mjs start"
// Each command gets `-c <config>` appended; it runs pinned to core 0, the load on this process's core.
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer } from 'node:net'
import { BrokerProcess, sleep } from './broker-process.ts'
import { renderEdgemqConfig } from './broker-configs.ts'
import { queueMessages, setupSessions } from './loads/session-load.ts'
import { CLOCK_TICKS_PER_SECOND } from './proc-stats.ts'

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
if (commands.length === 0) { console.error('usage: enqueue-ab.ts [--runs N] "cmd A" ["cmd B" ...]'); process.exit(2) }

const results = new Map<string, Array<{ rate: number, cpuUsPerMsg: number, bytesPerMsg: number }>>()
for (let r = 0; r < runs; r++) {
  const order = r % 2 === 0 ? commands : [...commands].reverse()
  for (const cmd of order) {
    const dir = await mkdtemp(join(tmpdir(), 'edgemq-enqueue-ab-'))
    try {
      await mkdir(join(dir, 'data'), { recursive: true })
      const port = await freePort()
      const config = join(dir, 'edgemq.yaml')
      await writeFile(config, renderEdgemqConfig({ port, persistence: true, dir, maxInflight: 20 }, 'generic-x64'))
      const [command, ...rest] = cmd.split(' ')
      const broker = await BrokerProcess.start({ label: cmd, command, args: [...rest, '-c', config], cwd: process.cwd(), port, cores: '0', nofile: 20_000 })
      try {
        const set = { port, sessions, prefix: 'ab' }
        await setupSessions(set)
        await sleep(1_000)
        const io0 = broker.io()
        const cpu0 = broker.cpuTicks()
        const q = await queueMessages({ ...set, messages, payloadBytes: 64, inflight: 100 })
        const cpu1 = broker.cpuTicks()
        await sleep(1_500) // the batch mode's fsync and the lazy writes land
        const io1 = broker.io()
        const row = { rate: q.perSecond, cpuUsPerMsg: Math.round((cpu1 - cpu0) / CLOCK_TICKS_PER_SECOND * 1e6 / messages * 10) / 10, bytesPerMsg: Math.round((io1.writeBytes - io0.writeBytes) / messages) }
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
  console.log(`median of ${rows.length}: ${cmd}: ${median(rows.map((x) => x.rate))} msg/s, ${median(rows.map((x) => x.cpuUsPerMsg))} µs CPU/msg, ${median(rows.map((x) => x.bytesPerMsg))} B/msg`)
}
