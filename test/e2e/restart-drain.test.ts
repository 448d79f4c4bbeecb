// A restart right after a burst of QoS 1 publishes to offline persistent
// sessions: every acknowledged message is delivered after the restart, with
// the offline-queue bounds on (the journal replays what the queue had not yet
// written; the bench's drain scenario found replay + bounds losing 95 %).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, connectAsync, type MqttClient } from 'mqtt'
import { startBrokerInProcess, type InProcessBroker } from '../helpers/broker-process.ts'

const SESSIONS = 300
const PER_SESSION = 10

test('every acknowledged message reaches its offline session after an immediate restart', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'edgemq-restart-drain-'))
  const yaml = `listeners:\n  - { name: t, type: tcp, host: 127.0.0.1, port: 0 }\npersistence: { path: ${join(dir, 'data')} }\nlimits: { maxQueuedMessages: 1000, maxQueuedBytes: 8MB }\n`
  let b: InProcessBroker | undefined
  const clients: MqttClient[] = []
  try {
    b = await startBrokerInProcess(yaml)
    for (let i = 0; i < SESSIONS; i++) {
      const c = await connectAsync(`mqtt://127.0.0.1:${b.port}`, { clientId: `rd-${i}`, clean: false, reconnectPeriod: 0 })
      await c.subscribeAsync(`rd/${i}`, { qos: 1 })
      await c.endAsync()
    }
    const pub = await connectAsync(`mqtt://127.0.0.1:${b.port}`, { clientId: 'rd-pub', reconnectPeriod: 0 })
    const acks: Array<Promise<unknown>> = []
    for (let m = 0; m < PER_SESSION; m++) for (let i = 0; i < SESSIONS; i++) acks.push(pub.publishAsync(`rd/${i}`, `m${m}`, { qos: 1 }))
    await Promise.all(acks)
    pub.end(true)
    await b.broker.close() // at once: queue writes may still be pending; the journal holds them
    b = await startBrokerInProcess(yaml)
    const got = new Map<number, string[]>()
    let total = 0
    for (let i = 0; i < SESSIONS; i++) {
      const c = connect(`mqtt://127.0.0.1:${b.port}`, { clientId: `rd-${i}`, clean: false, reconnectPeriod: 0 })
      c.on('message', (_t, p) => { const list = got.get(i) ?? []; list.push(p.toString()); got.set(i, list); total++ })
      clients.push(c)
    }
    const deadline = Date.now() + 30_000
    while (total < SESSIONS * PER_SESSION && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
    for (let i = 0; i < SESSIONS; i++) {
      const distinct = new Set(got.get(i) ?? [])
      assert.is(distinct.size, PER_SESSION, `session rd-${i} got ${[...distinct].join(',')}`)
    }
  } finally {
    for (const c of clients) c.end(true)
    await b?.stop()
    await rm(dir, { recursive: true, force: true })
  }
})

test.run()
