// The cost of persistence.encryptionKeyFile on broker throughput: QoS 1
// messages queued for an offline persistent subscriber, then drained to it, with
// and without encryption at rest, same process, alternating runs.
//   node --import tsx test/bench/at-rest.ts [messages=20000] [rounds=3]
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, connectAsync } from 'mqtt'
import { startBrokerInProcess } from '../helpers/broker-process.ts'

const N = Number(process.argv[2] ?? 20_000)
const ROUNDS = Number(process.argv[3] ?? 3)
const PAYLOAD = Buffer.alloc(64, 0x61)

async function once (encrypted: boolean): Promise<{ enqueue: number, drain: number }> {
  const keyDir = await mkdtemp(join(tmpdir(), 'edgemq-at-rest-'))
  const extra = encrypted ? `  encryptionKeyFile: ${join(keyDir, 'device.key')}\n` : ''
  const b = await startBrokerInProcess(`listeners:\n  - { name: t, type: tcp, host: 127.0.0.1, port: 0 }\nlimits: { maxQueuedMessages: 0, maxQueuedBytes: 0 }\npersistence:\n  path: ${join(keyDir, 'data')}\n${extra}`)
  try {
    const url = `mqtt://127.0.0.1:${b.port}`
    const sub = await connectAsync(url, { clientId: 'rest-sub', clean: false, reconnectPeriod: 0 })
    await sub.subscribeAsync('rest/#', { qos: 1 })
    await sub.endAsync()
    const pub = await connectAsync(url, { clientId: 'rest-pub', reconnectPeriod: 0 })
    let t0 = performance.now()
    const window: Array<Promise<unknown>> = []
    for (let i = 0; i < N; i++) {
      window.push(pub.publishAsync('rest/x', PAYLOAD, { qos: 1 }))
      if (window.length >= 100) await Promise.all(window.splice(0))
    }
    await Promise.all(window)
    const enqueue = N / ((performance.now() - t0) / 1000)
    await pub.endAsync()
    let got = 0
    t0 = performance.now()
    // the listener goes on before the CONNACK: the first queued messages arrive in the same read as it
    const again = connect(url, { clientId: 'rest-sub', clean: false, reconnectPeriod: 0 })
    await new Promise<void>((resolve) => { again.on('message', () => { if (++got === N) resolve() }) })
    const drain = N / ((performance.now() - t0) / 1000)
    await again.endAsync()
    return { enqueue, drain }
  } finally {
    await b.stop()
    await rm(keyDir, { recursive: true, force: true })
  }
}

const rows: Record<string, Array<{ enqueue: number, drain: number }>> = { plain: [], encrypted: [] }
for (let r = 0; r < ROUNDS; r++) {
  rows.plain.push(await once(false))
  rows.encrypted.push(await once(true))
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const m = (k: string, f: 'enqueue' | 'drain'): number => median(rows[k].map((x) => x[f]))
console.log(`QoS 1, 64 B, ${N} messages, median of ${ROUNDS}:`)
console.log(`  enqueue (offline subscriber): plain ${m('plain', 'enqueue').toFixed(0)} msg/s, encrypted ${m('encrypted', 'enqueue').toFixed(0)} msg/s, ratio ${(m('encrypted', 'enqueue') / m('plain', 'enqueue')).toFixed(2)}`)
console.log(`  drain on reconnect:           plain ${m('plain', 'drain').toFixed(0)} msg/s, encrypted ${m('encrypted', 'drain').toFixed(0)} msg/s, ratio ${(m('encrypted', 'drain') / m('plain', 'drain')).toFixed(2)}`)
process.exit(0)
