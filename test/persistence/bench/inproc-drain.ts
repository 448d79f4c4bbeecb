import { createServer } from 'node:net'
import { Aedes } from 'aedes'
import mqtt from 'mqtt'
import { createLevelPersistence } from '../../../src/persistence/level-persistence.ts'
const path = '/tmp/inproc-drain-' + Date.now()
const S = Number(process.argv[2] ?? 200), M = Number(process.argv[3] ?? 2000)
async function start (port: number) {
  const persistence = createLevelPersistence({ path, sync: 'batch', syncInterval: 1000, cacheSize: 8 << 20, writeBufferSize: 4 << 20 })
  const stats = new Map<string, { n: number, ms: number }>()
  for (const m of ['outgoingStream', 'outgoingUpdate', 'outgoingClearMessageId', 'subscriptionsByClient', 'addSubscriptions', 'delWill', 'getWill', 'cleanSubscriptions', 'outgoingEnqueueCombi', 'storeRetained', 'journalIncoming']) {
    const orig = (persistence as any)[m].bind(persistence)
    ;(persistence as any)[m] = (...a: any[]) => {
      const t = performance.now(); const r = orig(...a)
      const s = stats.get(m) ?? { n: 0, ms: 0 }; stats.set(m, s); s.n++
      if (r && typeof r.then === 'function') return r.then((v: any) => { s.ms += performance.now() - t; return v })
      return r
    }
  }
  const broker = await Aedes.createBroker({ persistence })
  const server = createServer(broker.handle)
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()))
  return { persistence, broker, server, stats, port: (server.address() as any).port }
}
async function pool (n: number, jobs: number, fn: (i: number) => Promise<void>) { let next = 0; await Promise.all(Array.from({ length: jobs }, async () => { for (let i = next++; i < n; i = next++) await fn(i) })) }
let b = await start(0)
await pool(S, 50, async (i) => { const c = await mqtt.connectAsync({ port: b.port, host: '127.0.0.1', clientId: `s${i}`, clean: false, reconnectPeriod: 0 }); await c.subscribeAsync(`d/${i}`, { qos: 1 }); await c.endAsync() })
const pub = await mqtt.connectAsync({ port: b.port, host: '127.0.0.1', clientId: 'pub', reconnectPeriod: 0 })
let t = performance.now()
await pool(M, 100, async (i) => { await pub.publishAsync(`d/${i % S}`, Buffer.alloc(256, 97), { qos: 1 }) })
console.log('queue msg/s', Math.round(M / ((performance.now() - t) / 1000)))
await pub.endAsync()
await new Promise<void>((r) => b.broker.close(() => r())); b.server.close(); await b.persistence.close()
b = await start(b.port)
let got = 0, connected = 0
t = performance.now()
let tConn = 0
await new Promise<void>((resolve) => {
  void pool(S, 200, async (i) => {
    const c = mqtt.connect({ host: '127.0.0.1', port: b.port, clientId: `s${i}`, clean: false, reconnectPeriod: 0 })
    c.on('message', () => { if (++got === M) resolve() })
    await new Promise((r) => c.once('connect', r)); if (++connected === S) tConn = performance.now() - t
  })
})
console.log('drain ms', Math.round(performance.now() - t), 'all connected at', Math.round(tConn))
for (const [k, v] of b.stats) console.log(k, v.n, 'avg ms', (v.ms / v.n).toFixed(2))
process.exit(0)
