// A v5 session ends when its Session Expiry Interval has passed after its
// connection closed [MQTT-4.1.0-2] [MQTT-3.1.2-23], whether or not the broker
// restarted or crashed in between; an interval of 0 ends it with the
// connection, and a broker stop closes the connection. aedes keeps its expiry
// timers in memory only, so before src/engine/restore-session-expiry.ts every
// case below but the last resumed the session after a restart (Session Present
// 1 and its queued messages): found by the model-based test
// (test/e2e/store-model.test.ts, first run: "A: a session that had ended was
// resumed"). Real broker processes (`edgemq start`), SIGTERM and SIGKILL.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startBrokerProcess, type BrokerProcessHandle } from '../helpers/broker-process.ts'
import { RawMqtt } from '../helpers/raw-mqtt.ts'

let dir = ''
let broker: BrokerProcessHandle | undefined
const open: RawMqtt[] = []
test.before.each(async () => { dir = await mkdtemp(join(tmpdir(), 'edgemq-expiry-')) })
test.after.each(async () => {
  for (const c of open.splice(0)) c.destroy()
  await broker?.stop()
  broker = undefined
  await rm(dir, { recursive: true, force: true })
})

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

async function start (): Promise<BrokerProcessHandle> {
  broker = await startBrokerProcess({ config: `listeners:\n  - { name: t, type: tcp, host: 127.0.0.1, port: 0 }\npersistence: { path: ${join(dir, 'store')}, sync: always }\n`, startTimeoutMs: 30_000 })
  return broker
}

async function restart (how: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  await broker!.kill(how)
  await broker!.stop()
  await start()
}

/** A v5 subscriber to se/t with this Session Expiry Interval (s), Clean Start 1 unless told. */
async function subscriber (expiry: number, cleanStart = true): Promise<RawMqtt> {
  const { c, connack } = await RawMqtt.connected(broker!.port, 5, { clientId: 'expiring', clean: cleanStart, properties: { sessionExpiryInterval: expiry } })
  open.push(c)
  assert.is(connack.reasonCode ?? 0, 0)
  c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'se/t', qos: 1 }] })
  await c.next('suback')
  return c
}

/** Publishes one QoS 1 message (acknowledged) so a session that survived would have it queued. */
async function publishOne (): Promise<void> {
  const { c } = await RawMqtt.connected(broker!.port, 5, { clientId: 'pub' })
  open.push(c)
  c.send({ cmd: 'publish', topic: 'se/t', payload: 'queued', qos: 1, messageId: 1 })
  await c.next('puback')
  await c.disconnect()
}

/** Reconnects with Clean Start 0 and returns Session Present and whether a queued message came. */
async function resume (): Promise<{ present: boolean, got: boolean }> {
  const { c, connack } = await RawMqtt.connected(broker!.port, 5, { clientId: 'expiring', clean: false, properties: { sessionExpiryInterval: 60 } })
  open.push(c)
  const got = !(await c.nothing('publish', 500))
  return { present: connack.sessionPresent === true, got }
}

test('[MQTT-4.1.0-2] a session disconnected with expiry 1 s is gone after a graceful restart and 2.5 s', async () => {
  await start()
  const s = await subscriber(1)
  await s.disconnect()
  await restart('SIGTERM')
  await publishOne()
  await sleep(2500)
  assert.equal(await resume(), { present: false, got: false })
})

test('[MQTT-4.1.0-2] a session whose 1 s expiry passed while the broker was down is gone at the start', async () => {
  await start()
  const s = await subscriber(1)
  await s.disconnect()
  await broker!.kill('SIGTERM')
  await sleep(2000)
  await broker!.stop()
  await start()
  assert.equal(await resume(), { present: false, got: false })
})

test('[MQTT-4.1.0-2] a session connected (expiry 1 s) at a kill -9 is gone 2.5 s after the restart', async () => {
  await start()
  await subscriber(1)
  await restart('SIGKILL')
  await publishOne()
  await sleep(2500)
  assert.equal(await resume(), { present: false, got: false })
})

test('[MQTT-4.1.0-2] a session connected (expiry 2 s) at two kills in a row: its clock starts at the first restart, not again at the second', async () => {
  await start()
  await subscriber(2)
  await restart('SIGKILL')
  await sleep(1500)
  await restart('SIGKILL') // 2 s after the first restart have passed by the time this one is up
  await sleep(1000)
  assert.equal(await resume(), { present: false, got: false })
})

test('[MQTT-3.1.2-23] Clean Start 0 with expiry 0, connected when the broker stops: the session ends with that connection', async () => {
  await start()
  const first = await subscriber(60)
  await first.disconnect()
  await subscriber(0, false) // resumes the stored session, which now ends with this connection [MQTT-3.1.2-5]
  await restart('SIGTERM')
  await publishOne()
  assert.equal(await resume(), { present: false, got: false })
})

test('a session with an hour of expiry survives a graceful restart and a kill -9, with its queued message', async () => {
  await start()
  const s = await subscriber(3600)
  await s.disconnect()
  await restart('SIGTERM')
  await restart('SIGKILL')
  await publishOne()
  assert.equal(await resume(), { present: true, got: true })
})

test.run()
