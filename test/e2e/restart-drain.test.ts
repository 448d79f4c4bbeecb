// A restart right after a burst of QoS 1 publishes to offline persistent
// sessions: every acknowledged message is delivered after the restart, with
// the offline-queue bounds on. The journal replays what the queues had not
// yet written; replay and close() wait for every enqueue in the write path
// (issue 11: they used to resolve while enqueues still loading their client's
// queue figures were pending, and replay ran with the bounds off to hide it).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, connectAsync, type MqttClient } from 'mqtt'
import { startBrokerInProcess, startBrokerProcess, type BrokerProcessHandle, type InProcessBroker } from '../helpers/broker-process.ts'
import { RawMqtt } from '../helpers/raw-mqtt.ts'

const BOUNDS = 'limits: { maxQueuedMessages: 1000, maxQueuedBytes: 8MB }'

async function subscribeAll (port: number, prefix: string, sessions: number): Promise<void> {
  for (let i = 0; i < sessions; i++) {
    const c = await connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: `${prefix}-${i}`, clean: false, reconnectPeriod: 0 })
    await c.subscribeAsync(`${prefix}/${i}`, { qos: 1 })
    await c.endAsync()
  }
}

async function publishBurst (port: number, prefix: string, sessions: number, perSession: number): Promise<void> {
  const pub = await connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: `${prefix}-pub`, reconnectPeriod: 0 })
  const acks: Array<Promise<unknown>> = []
  for (let m = 0; m < perSession; m++) for (let i = 0; i < sessions; i++) acks.push(pub.publishAsync(`${prefix}/${i}`, `m${m}`, { qos: 1 }))
  await Promise.all(acks)
  pub.end(true)
}

/** Reconnects every session and collects what it receives; asserts each got all `perSession` messages, in order. */
async function assertAllDelivered (port: number, prefix: string, sessions: number, perSession: number): Promise<void> {
  const clients: MqttClient[] = []
  const got = new Map<number, string[]>()
  let total = 0
  try {
    for (let i = 0; i < sessions; i++) {
      const c = connect(`mqtt://127.0.0.1:${port}`, { clientId: `${prefix}-${i}`, clean: false, reconnectPeriod: 0 })
      c.on('message', (_t, p) => { const list = got.get(i) ?? []; list.push(p.toString()); got.set(i, list); total++ })
      clients.push(c)
    }
    const deadline = Date.now() + 60_000
    while (total < sessions * perSession && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
    const expected = Array.from({ length: perSession }, (_, m) => `m${m}`)
    for (let i = 0; i < sessions; i++) assert.equal([...new Set(got.get(i) ?? [])], expected, `session ${prefix}-${i}`)
  } finally {
    for (const c of clients) c.end(true)
  }
}

test('every acknowledged message reaches its offline session after an immediate graceful restart, and the close leaves nothing to replay', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'edgemq-restart-drain-'))
  const yaml = `listeners:\n  - { name: t, type: tcp, host: 127.0.0.1, port: 0 }\npersistence: { path: ${join(dir, 'data')} }\n${BOUNDS}\n`
  let b: InProcessBroker | undefined
  try {
    b = await startBrokerInProcess(yaml)
    await subscribeAll(b.port, 'rd', 300)
    await publishBurst(b.port, 'rd', 300, 10)
    await b.broker.close() // at once: enqueues may still be loading their clients' queue figures
    b = await startBrokerInProcess(yaml)
    assert.is(b.broker.stats().persistenceJournalReplayed, 0, 'close() resolved before the queue writes of acknowledged messages landed')
    await assertAllDelivered(b.port, 'rd', 300, 10)
  } finally {
    await b?.stop()
    await rm(dir, { recursive: true, force: true })
  }
})

test('kill -9 in the middle of a burst: the replay runs with the bounds on, a SIGTERM right after it leaves nothing to replay, nothing acknowledged is lost', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'edgemq-restart-drain-'))
  const config = `listeners:\n  - { name: t, type: tcp, host: 127.0.0.1, port: 0 }\npersistence: { path: ${join(dir, 'data')}, sync: always }\n${BOUNDS}\n`
  const replayed = (stderr: string): number => Number(/replayed acknowledged messages left by a crash count=(\d+)/.exec(stderr)?.[1] ?? 0)
  let b: BrokerProcessHandle | undefined
  try {
    b = await startBrokerProcess({ config })
    await subscribeAll(b.port, 'rk', 100)
    // A connected persistent subscriber keeps the burst on the journal path: a
    // QoS 1 message whose persistent subscribers are all away is stored before
    // its PUBACK instead (LevelPersistence.ackAfterStore) and has nothing to
    // replay. It never acknowledges: its PUBACKs would be writes that send the
    // lazy queue writes (invariant 12) at once. The kill comes while the
    // publisher still sends (a fifth of the burst acknowledged), not after a pause
    // (sync always: each batch waits for its fsync, so a journal entry's batch
    // and its routing's are further apart)
    // in which every queue write could land.
    const { c: watcher } = await RawMqtt.connected(b.port, 4, { clientId: 'rk-watcher', clean: false })
    watcher.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'rk/+', qos: 1 }] })
    await watcher.next('suback')
    const pub = await connectAsync(`mqtt://127.0.0.1:${b.port}`, { clientId: 'rk-pub', reconnectPeriod: 0 })
    const acked = new Map<number, string[]>()
    let ackCount = 0
    const broker = b
    const killed = await new Promise<Promise<unknown>>((resolve) => {
      // 5,000 sent at once, the kill at the 1,000th PUBACK: the broker is still busy with the rest
      for (let m = 0; m < 50; m++) {
        for (let i = 0; i < 100; i++) {
          pub.publishAsync(`rk/${i}`, `m${m}`, { qos: 1 }).then(() => {
            acked.set(i, [...(acked.get(i) ?? []), `m${m}`])
            if (++ackCount === 1000) resolve(broker.kill('SIGKILL'))
          }, () => {})
        }
      }
    })
    await killed
    pub.end(true)
    watcher.destroy()
    b = await startBrokerProcess({ config }) // replays what the queues had not written, bounds on
    const first = replayed(b.stderr())
    assert.ok(first > 0, 'nothing was replayed: every enqueue had landed at the kill, so this run did not test the replay')
    assert.is(await b.kill('SIGTERM'), 0) // as soon as it listens: replayed enqueues must have landed
    b = await startBrokerProcess({ config })
    assert.is(replayed(b.stderr()), 0, `the first restart replayed ${first} messages and left some in the journal`)
    assert.not.match(b.stderr(), /write failed/)
    await assertAckedDelivered(b.port, 'rk', acked)
  } finally {
    await b?.stop()
    await rm(dir, { recursive: true, force: true })
  }
})

/** Reconnects the sessions and asserts each got every message acknowledged for it, first deliveries in publish order. */
async function assertAckedDelivered (port: number, prefix: string, acked: Map<number, string[]>): Promise<void> {
  const clients: MqttClient[] = []
  const got = new Map<number, string[]>()
  try {
    for (const i of acked.keys()) {
      const c = connect(`mqtt://127.0.0.1:${port}`, { clientId: `${prefix}-${i}`, clean: false, reconnectPeriod: 0 })
      c.on('message', (_t, p) => { const list = got.get(i) ?? []; list.push(p.toString()); got.set(i, list) })
      clients.push(c)
    }
    const missing = (): number => [...acked].reduce((n, [i, ms]) => n + ms.filter((m) => !(got.get(i) ?? []).includes(m)).length, 0)
    const deadline = Date.now() + 60_000
    while (missing() > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
    for (const [i, ms] of acked) {
      const first = [...new Set(got.get(i) ?? [])]
      assert.equal(ms.filter((m) => !first.includes(m)), [], `session ${prefix}-${i} lost acknowledged messages`)
      assert.equal(first, [...first].sort((a, b) => Number(a.slice(1)) - Number(b.slice(1))), `session ${prefix}-${i}: first deliveries out of order`)
    }
  } finally {
    for (const c of clients) c.end(true)
  }
}

test.run()
