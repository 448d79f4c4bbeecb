// kill -9 in the middle of a QoS 1 / QoS 2 stream (sync=batch, the default):
// every message acknowledged to the publisher (PUBACK for QoS 1, PUBREC for
// QoS 2) reaches the online and the offline persistent subscriber, QoS 1 at
// least once, QoS 2 exactly once; acknowledged retained messages are retained.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt, { type MqttClient, type IClientOptions } from 'mqtt'
import { killBroker, startBroker, waitFor, type BrokerProcess } from './broker-process.ts'

const dir = mkdtempSync(join(tmpdir(), 'edgemq-kill9-stream-'))
const brokers: BrokerProcess[] = []
const clients: MqttClient[] = []

function client (port: number, options: IClientOptions): MqttClient {
  const c = mqtt.connect({ host: '127.0.0.1', port, reconnectPeriod: 100, connectTimeout: 5000, ...options })
  c.on('error', () => {})
  clients.push(c)
  return c
}

function connected (c: MqttClient): Promise<void> {
  return c.connected ? Promise.resolve() : new Promise((resolve) => c.once('connect', () => resolve()))
}

/** Records what a subscriber receives: payload -> count. */
function collect (c: MqttClient): Map<string, number> {
  const seen = new Map<string, number>()
  c.on('message', (_topic, payload) => { const k = payload.toString(); seen.set(k, (seen.get(k) ?? 0) + 1) })
  return seen
}

test.after(async () => {
  for (const c of clients) await new Promise<void>((resolve) => c.end(true, {}, () => resolve()))
  for (const b of brokers) await killBroker(b)
  rmSync(dir, { recursive: true, force: true })
})

for (const sync of ['batch', 'always']) {
  test(`every acknowledged QoS 1/2 message survives kill -9 mid-stream (sync=${sync})`, async () => {
    const db = join(dir, `db-${sync}`)
    const b1 = await startBroker(db, 0, sync)
    brokers.push(b1)
    const port = b1.port

    const offline = client(port, { clientId: `off-${sync}`, clean: false })
    await connected(offline)
    await offline.subscribeAsync('data/#', { qos: 2 })
    await new Promise<void>((resolve) => offline.end(false, {}, () => resolve()))

    const online = client(port, { clientId: `on-${sync}`, clean: false })
    const onlineSeen = collect(online)
    await connected(online)
    await online.subscribeAsync('data/#', { qos: 2 })

    const pub = client(port, { clientId: `pub-${sync}`, clean: false })
    await connected(pub)
    const sentById = new Map<number, string>()
    const acked = new Set<string>()
    pub.on('packetsend', (p: any) => { if (p.cmd === 'publish' && p.qos > 0) sentById.set(p.messageId, p.payload.toString()) })
    pub.on('packetreceive', (p: any) => {
      if (p.cmd === 'puback' || p.cmd === 'pubrec') { const k = sentById.get(p.messageId); if (k !== undefined) acked.add(k) }
    })

    const N = sync === 'always' ? 600 : 1200 // always: one fsync per group commit, slower on purpose
    const all: Array<{ payload: string, qos: 1 | 2, retained: boolean }> = []
    const done: Array<Promise<unknown>> = []
    for (let i = 0; i < N; i++) {
      const qos = (i % 2 === 0 ? 1 : 2) as 1 | 2
      const retained = i % 50 === 0
      const payload = `q${qos}-${i}`
      all.push({ payload, qos, retained })
      done.push(pub.publishAsync(retained ? `data/r/${i}` : `data/${i % 10}`, payload, { qos, retain: retained }).catch(() => {}))
    }
    // kill once a good part of the stream is acknowledged, while the rest is in flight
    assert.ok(await waitFor(() => acked.size >= N / 3, 20_000), `only ${acked.size} acknowledged before the kill`)
    await killBroker(b1)
    const ackedAtKill = acked.size
    const b2 = await startBroker(db, port, sync)
    brokers.push(b2)

    // the publisher's own session resends whatever was not acknowledged
    await Promise.race([Promise.all(done), new Promise((r) => setTimeout(r, 30_000))])
    assert.is(acked.size, N, `publisher saw ${acked.size}/${N} acknowledged after the restart`)

    const offline2 = client(port, { clientId: `off-${sync}`, clean: false })
    const offlineSeen = collect(offline2)
    const complete = (seen: Map<string, number>): boolean => all.every((m) => (seen.get(m.payload) ?? 0) >= 1)
    await waitFor(() => complete(offlineSeen) && complete(onlineSeen), 30_000, 100)
    await new Promise((r) => setTimeout(r, 500)) // let any duplicate arrive before counting

    for (const [name, seen] of [['online', onlineSeen], ['offline', offlineSeen]] as const) {
      const missing = all.filter((m) => acked.has(m.payload) && (seen.get(m.payload) ?? 0) === 0).map((m) => m.payload)
      assert.equal(missing.slice(0, 10), [], `${name} subscriber misses ${missing.length} acknowledged messages`)
      const twice = all.filter((m) => m.qos === 2 && (seen.get(m.payload) ?? 0) > 1).map((m) => m.payload)
      assert.equal(twice.slice(0, 10), [], `${name} subscriber got ${twice.length} QoS 2 messages more than once`)
    }

    const late = client(port, { clientId: `late-${sync}`, clean: true })
    const retainedSeen = collect(late)
    await connected(late)
    await late.subscribeAsync('data/r/#', { qos: 1 })
    const retained = all.filter((m) => m.retained)
    await waitFor(() => retained.every((m) => retainedSeen.has(m.payload)), 5000)
    assert.equal(retained.filter((m) => !retainedSeen.has(m.payload)).map((m) => m.payload), [], 'acknowledged retained messages missing')
    assert.ok(ackedAtKill < N, 'the kill happened mid-stream')
  })
}

test.run()
