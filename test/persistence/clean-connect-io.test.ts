// A clean-session CONNECT costs no disk (issue 10): a gateway that reboots has
// all its sensors reconnect at once, and each LevelDB iterator, read or write
// on that path multiplies by the fleet. aedes asks the persistence on every
// CONNECT for the session's subscriptions or to clean them, for the will (to
// delete it), and to drain the offline queue; the store knows from memory that
// a clean session has none of these. Counted with the store's own counters
// (src/persistence/counted-level.ts for reads, the write queue for writes), on
// the real broker with real MQTT.js clients over loopback, real LevelDB.
//
// MQTT 3.1.1 CleanSession 1 [MQTT-3.1.2-6] and MQTT 5 Clean Start 1 with
// Session Expiry 0 [MQTT-3.1.2-4] [MQTT-3.1.2-23] both end with the network
// connection: nothing of them needs to reach the disk. A will does [MQTT-3.1.2-8]
// (it outlives a broker restart in the store): one put, and at its end one
// delete.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt'
import { startBroker, type EdgemqBroker } from '../../src/broker.ts'
import { PARTS } from '../../src/parts.ts'
import { parseConfigText } from '../../src/config/config-file.ts'
import { resolveConfig } from '../../src/config/load-config.ts'
import { silentLogger } from '../../src/observability/logger.ts'

let dir = ''
let broker: EdgemqBroker
let port = 0

interface Io { iterators: number, gets: number, writeOps: number }

const SYNC_INTERVAL_MS = 200

// $SYS off: its retained values are written to the store every period
const configText = (): string => `persistence: { path: ${join(dir, 'data')}, syncInterval: ${SYNC_INTERVAL_MS}ms }
board: generic
sys: { interval: 0 }
listeners:
  - { name: local, type: tcp, host: 127.0.0.1, port: ${port} }
`

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgemq-clean-io-'))
  const file = parseConfigText(configText(), join(dir, 'site.yaml'))
  broker = await startBroker((await resolveConfig({ file })).config, silentLogger, PARTS)
  port = broker.addresses()[0].port
})

test.after(async () => {
  await broker.close()
  await rm(dir, { recursive: true, force: true })
})

function io (): Io {
  const s = broker.stats()
  return { iterators: s.persistenceReadIterators, gets: s.persistenceReadGets, writeOps: s.persistenceWriteOps }
}

/** The counters once the store is quiet (a batch-mode sync marker may still land after earlier writes). */
async function quietIo (): Promise<Io> {
  let last = io()
  for (let i = 0; i < 50; i++) {
    await new Promise((resolve) => setTimeout(resolve, SYNC_INTERVAL_MS * 3))
    const now = io()
    if (now.iterators === last.iterators && now.gets === last.gets && now.writeOps === last.writeOps) return now
    last = now
  }
  throw new Error(`store never went quiet: ${JSON.stringify(last)}`)
}

async function open (options: IClientOptions): Promise<MqttClient> {
  return await connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 10_000, ...options })
}

/** Closes the client's socket without DISCONNECT and waits until the broker has noticed. */
async function drop (client: MqttClient, clients: number): Promise<void> {
  client.stream.destroy()
  client.end(true)
  for (let i = 0; i < 200 && broker.stats().clientsConnected > clients; i++) await new Promise((resolve) => setTimeout(resolve, 25))
}

async function settleConnections (clients: number): Promise<void> {
  for (let i = 0; i < 200 && broker.stats().clientsConnected > clients; i++) await new Promise((resolve) => setTimeout(resolve, 25))
  assert.is(broker.stats().clientsConnected, clients, 'every test client has left')
}

test('the counters see the store reading: a persistent session with a queue is read on reconnect', async () => {
  // the control: without it a counter that never moves would pass every test below
  const sub = await open({ clientId: 'io-persistent', clean: false, protocolVersion: 4 })
  await sub.subscribeAsync('io/persistent', { qos: 1 })
  await sub.endAsync()
  const pub = await open({ clientId: 'io-publisher', clean: true, protocolVersion: 4 })
  await pub.publishAsync('io/persistent', 'queued', { qos: 1 })
  await pub.endAsync()
  await settleConnections(0)
  const before = await quietIo()
  const again = await open({ clientId: 'io-persistent', clean: false, protocolVersion: 4 })
  const got = new Promise<string>((resolve) => again.once('message', (_t, payload) => resolve(payload.toString())))
  assert.is(await got, 'queued')
  const after = await quietIo()
  assert.ok(after.iterators > before.iterators, `the queue drain opened no iterator: ${JSON.stringify({ before, after })}`)
  await again.endAsync()
  // its session ends: the next clean connect of the same id clears what is left
  const clean = await open({ clientId: 'io-persistent', clean: true, protocolVersion: 4 })
  await clean.endAsync()
  await settleConnections(0)
})

test('100 MQTT 3.1.1 CleanSession 1 connects, half ending with DISCONNECT and half dropped, do no store I/O', async () => {
  const before = await quietIo()
  for (let i = 0; i < 100; i++) {
    const c = await open({ clientId: `io-clean-${i}`, clean: true, protocolVersion: 4 })
    if (i % 2 === 0) await c.endAsync()
    else await drop(c, 0)
  }
  await settleConnections(0)
  assert.equal(await quietIo(), before)
})

test('100 MQTT 5 Clean Start 1, Session Expiry 0 connects do no store I/O', async () => {
  const before = await quietIo()
  for (let i = 0; i < 100; i++) {
    const c = await open({ clientId: `io-v5-${i}`, clean: true, protocolVersion: 5, properties: { sessionExpiryInterval: 0 } })
    if (i % 2 === 0) await c.endAsync()
    else await drop(c, 0)
  }
  await settleConnections(0)
  assert.equal(await quietIo(), before)
})

test('a clean client id that once had a persistent session pays one empty scan, then its connects do no store I/O', async () => {
  // io-persistent's session ended in the first test (its clean connect drained
  // and cleared the queue); the next clean connect finds the queue empty
  const first = await open({ clientId: 'io-persistent', clean: true, protocolVersion: 4 })
  await first.endAsync()
  await settleConnections(0)
  const before = await quietIo()
  for (let i = 0; i < 10; i++) {
    const c = await open({ clientId: 'io-persistent', clean: true, protocolVersion: 4 })
    await c.endAsync()
  }
  await settleConnections(0)
  assert.equal(await quietIo(), before)
})

test('a clean client with a will costs the will\'s put at CONNECT, its read and delete at DISCONNECT: no iterator', async () => {
  const before = await quietIo()
  const c = await open({ clientId: 'io-will', clean: true, protocolVersion: 4, will: { topic: 'io/will', payload: Buffer.from('gone'), qos: 0, retain: false } })
  const connected = await quietIo()
  assert.is(connected.iterators, before.iterators)
  assert.is(connected.gets, before.gets)
  // the put, and in batch mode the sync marker of the fsync that makes it durable
  const putOps = connected.writeOps - before.writeOps
  assert.ok(putOps >= 1 && putOps <= 2, `will put: ${putOps} write ops`)
  await c.endAsync() // a DISCONNECT deletes the will unpublished [MQTT-3.1.2-10]
  await settleConnections(0)
  const after = await quietIo()
  assert.is(after.iterators, before.iterators)
  // delWill returns the will it deletes (aedes-persistence's contract): one get
  assert.is(after.gets, connected.gets + 1)
  const delOps = after.writeOps - connected.writeOps
  assert.ok(delOps >= 1 && delOps <= 2, `will delete: ${delOps} write ops`)
})

test('a clean client\'s SUBSCRIBE with no retained message under its filters does no store I/O; one under another filter still arrives, after a reload too', async () => {
  const pub = await open({ clientId: 'io-retainer', clean: true, protocolVersion: 4 })
  await pub.publishAsync('io/retained/config', 'v1', { qos: 1, retain: true })
  await pub.endAsync()
  await settleConnections(0)
  const before = await quietIo()
  for (let i = 0; i < 50; i++) {
    const c = await open({ clientId: `io-sub-${i}`, clean: true, protocolVersion: i % 2 === 0 ? 4 : 5 })
    await c.subscribeAsync([`sensors/${i}/cmd`, 'fleet/+/cmd'], { qos: 1 })
    await c.endAsync()
  }
  await settleConnections(0)
  assert.equal(await quietIo(), before, 'subscribes under sensors/ and fleet/ read nothing')

  // [MQTT-3.3.1-9] a matching retained message is still sent, before and after a reload
  for (const when of ['before', 'after'] as const) {
    if (when === 'after') await broker.reload((await resolveConfig({ file: parseConfigText(configText(), join(dir, 'site.yaml')) })).config)
    const c = await open({ clientId: `io-retained-${when}`, clean: true, protocolVersion: 4 })
    const got = new Promise<string>((resolve) => c.once('message', (topic, payload) => resolve(`${topic}=${payload.toString()}`)))
    await c.subscribeAsync('io/+/config', { qos: 1 })
    assert.is(await got, 'io/retained/config=v1', when)
    await c.endAsync()
  }
  await settleConnections(0)
})

test.run()
