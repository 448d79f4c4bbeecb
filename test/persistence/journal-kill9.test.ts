// The key durability requirement: a QoS 1/2 message acknowledged to its
// publisher is never lost by kill -9 (sync=batch, the default). A real aedes on
// LevelPersistence runs in a child process; MQTT.js clients publish and
// subscribe over loopback; the child is SIGKILLed and restarted on the same store.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt, { type MqttClient, type IClientOptions } from 'mqtt'
import { killBroker, startBroker, type BrokerProcess } from './broker-process.ts'
import { waitFor } from './kill9-scenario.ts'

const dirs: string[] = []
const brokers: BrokerProcess[] = []
const clients: MqttClient[] = []

function tempDb (): string {
  const dir = mkdtempSync(join(tmpdir(), 'edgemq-kill9-'))
  dirs.push(dir)
  return join(dir, 'db')
}

async function start (db: string, port: number, extra: string[] = []): Promise<BrokerProcess> {
  const b = await startBroker(db, port, 'batch', extra)
  brokers.push(b)
  return b
}

function connect (port: number, options: IClientOptions): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect({ host: '127.0.0.1', port, reconnectPeriod: 200, connectTimeout: 5000, ...options })
    clients.push(c)
    c.once('connect', () => resolve(c))
    c.once('error', reject)
  })
}

async function end (c: MqttClient): Promise<void> {
  await new Promise<void>((resolve) => c.end(true, {}, () => resolve()))
}

test.after.each(async () => {
  for (const c of clients.splice(0)) await end(c)
  for (const b of brokers.splice(0)) await killBroker(b)
})
test.after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }) })

async function stalledPublishScenario (journal: boolean): Promise<string[]> {
  const db = tempDb()
  const b1 = await start(db, 0, journal ? ['--stall=stall/'] : ['--stall=stall/', '--no-journal'])
  const sub = await connect(b1.port, { clientId: 'sub-stall', clean: false })
  await sub.subscribeAsync('stall/#', { qos: 1 })
  await end(sub)
  const pub = await connect(b1.port, { clientId: 'pub-stall', clean: true })
  await pub.publishAsync('stall/a', 'acknowledged-1', { qos: 1 }) // resolves on PUBACK
  await end(pub)
  await killBroker(b1)
  const b2 = await start(db, 0)
  const got: string[] = []
  const sub2 = mqtt.connect({ host: '127.0.0.1', port: b2.port, clientId: 'sub-stall', clean: false, reconnectPeriod: 200 })
  clients.push(sub2)
  sub2.on('message', (_t, payload) => got.push(payload.toString()))
  await waitFor(() => got.length > 0, 3000)
  return got
}

test('a QoS 1 message PUBACKed before aedes stored it is delivered after kill -9 (journal replay)', async () => {
  const got = await stalledPublishScenario(true)
  assert.equal(got, ['acknowledged-1'])
})

test('without the journal the same PUBACKed message is lost (why the journal exists)', async () => {
  const got = await stalledPublishScenario(false)
  assert.equal(got, [])
})

test.run()
