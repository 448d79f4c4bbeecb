// Drain through the broker as it ships (edgemq start, broker-process.ts): N sessions with one QoS 1 subscription, M messages queued while
// offline, broker restarted, time until every message arrived once.
//   node --import tsx test/persistence/bench/aedes-drain.ts [sessions] [messages]
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt from 'mqtt'
import { killBroker, startBroker } from '../broker-process.ts'

const SESSIONS = Number(process.argv[2] ?? 1000)
const MESSAGES = Number(process.argv[3] ?? 10_000)
const dir = mkdtempSync(join(tmpdir(), 'edgemq-aedes-drain-'))
const db = join(dir, 'db')
let b = await startBroker(db, 0, process.env.SYNC ?? 'batch')
const port = b.port
async function pool (n: number, jobs: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: jobs }, async () => { for (let i = next++; i < n; i = next++) await fn(i) }))
}
await pool(SESSIONS, 50, async (i) => {
  const c = await mqtt.connectAsync({ host: '127.0.0.1', port, clientId: `s${i}`, clean: false, reconnectPeriod: 0 })
  await c.subscribeAsync(`d/${i}`, { qos: 1 })
  await c.endAsync()
})
const pub = await mqtt.connectAsync({ host: '127.0.0.1', port, clientId: 'pub', reconnectPeriod: 0 })
let t = performance.now()
await pool(MESSAGES, 100, async (i) => { await pub.publishAsync(`d/${i % SESSIONS}`, Buffer.alloc(256, 97), { qos: 1 }) })
const queueMs = performance.now() - t
await pub.endAsync()
await b.handle.kill('SIGTERM'); await b.handle.stop()
b = await startBroker(db, port, process.env.SYNC ?? 'batch')
let got = 0
t = performance.now()
const clients: mqtt.MqttClient[] = []
await new Promise<void>((resolve) => {
  void pool(SESSIONS, 200, async (i) => {
    const c = mqtt.connect({ host: '127.0.0.1', port, clientId: `s${i}`, clean: false, reconnectPeriod: 0 })
    clients.push(c)
    c.on('message', () => { if (++got === MESSAGES) resolve() })
    await new Promise((r) => c.once('connect', r))
  })
})
const drainMs = performance.now() - t
console.log(JSON.stringify({ sessions: SESSIONS, messages: MESSAGES, queuePerSec: Math.round(MESSAGES / (queueMs / 1000)), drainMs: Math.round(drainMs) }))
for (const c of clients) c.end(true)
await killBroker(b)
rmSync(dir, { recursive: true, force: true })
