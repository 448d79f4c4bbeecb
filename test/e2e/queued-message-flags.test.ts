// The QoS and RETAIN flag of a message queued for a persistent subscriber
// that was away. QoS: the lower of the publish QoS and the QoS granted
// [MQTT-3.8.4-6]; aedes lowers it for live deliveries only, and a QoS 2
// message queued for a QoS 1 subscription arrived at QoS 2 (found by the
// model-based test). RETAIN: sent because it matches an established subscription, so RETAIN 0
// ([MQTT-3.3.1-9] 3.1.1; [MQTT-3.3.1-12] v5 without Retain As Published), and
// RETAIN as published for a v5 subscription with Retain As Published
// [MQTT-3.3.1-13]. aedes clears the flag on live deliveries only: the queued
// copy of a retained publish reached the returning subscriber with RETAIN 1,
// as if it came from its SUBSCRIBE (found by the model-based test,
// test/e2e/store-model.test.ts). Real sockets, the broker in this process.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { startBrokerInProcess, type InProcessBroker } from '../helpers/broker-process.ts'
import { RawMqtt } from '../helpers/raw-mqtt.ts'

let b: InProcessBroker | undefined
const open: RawMqtt[] = []
test.after.each(async () => {
  for (const c of open.splice(0)) c.destroy()
  await b?.stop()
  b = undefined
})

/** Subscribes `clientId` persistently, goes away, a retained QoS 1 message is published, comes back: the RETAIN flag it got. */
async function retainOfQueued (version: 4 | 5, rap: boolean): Promise<boolean> {
  b ??= await startBrokerInProcess()
  const clientId = `rq-${version}-${String(rap)}`
  const session = version === 5 ? { clean: false, properties: { sessionExpiryInterval: 60 } } : { clean: false }
  const { c: sub } = await RawMqtt.connected(b.port, version, { clientId, ...session })
  open.push(sub)
  sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: `rq/${clientId}`, qos: 1, ...(version === 5 ? { rap } : {}) }] })
  await sub.next('suback')
  await sub.disconnect()
  const { c: pub } = await RawMqtt.connected(b.port, 4)
  open.push(pub)
  pub.send({ cmd: 'publish', topic: `rq/${clientId}`, payload: 'queued', qos: 1, retain: true, messageId: 1 })
  await pub.next('puback')
  const { c: back, connack } = await RawMqtt.connected(b.port, version, { clientId, ...session })
  open.push(back)
  assert.is(connack.sessionPresent, true)
  const got = await back.next('publish')
  assert.is(got.payload.toString(), 'queued')
  back.send({ cmd: 'puback', messageId: got.messageId })
  return got.retain === true
}

test('[MQTT-3.3.1-9] 3.1.1: a queued retained message reaches the returning subscriber with RETAIN 0', async () => {
  assert.is(await retainOfQueued(4, false), false)
})

test('[MQTT-3.3.1-12] v5 without Retain As Published: RETAIN 0', async () => {
  assert.is(await retainOfQueued(5, false), false)
})

test('[MQTT-3.3.1-13] v5 with Retain As Published: RETAIN 1', async () => {
  assert.is(await retainOfQueued(5, true), true)
})

/** A QoS 2 message queued for a subscription granted `granted`: the QoS it arrives at (undefined: it did not arrive). */
async function qosOfQueued (version: 4 | 5, granted: 0 | 1): Promise<number | undefined> {
  b ??= await startBrokerInProcess()
  const clientId = `gq-${version}-${granted}`
  const session = version === 5 ? { clean: false, properties: { sessionExpiryInterval: 60 } } : { clean: false }
  const { c: sub } = await RawMqtt.connected(b.port, version, { clientId, ...session })
  open.push(sub)
  sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: `gq/${clientId}`, qos: granted }] })
  assert.equal((await sub.next('suback')).granted, [granted])
  await sub.disconnect()
  const { c: pub } = await RawMqtt.connected(b.port, 4)
  open.push(pub)
  pub.send({ cmd: 'publish', topic: `gq/${clientId}`, payload: 'queued', qos: 2, messageId: 1 })
  await pub.next('pubrec')
  pub.send({ cmd: 'pubrel', messageId: 1 })
  await pub.next('pubcomp')
  const { c: back } = await RawMqtt.connected(b.port, version, { clientId, ...session })
  open.push(back)
  const got = await back.next('publish', 1000).catch(() => undefined)
  return got?.qos
}

for (const version of [4, 5] as const) {
  test(`[MQTT-3.8.4-6] ${version === 5 ? 'v5' : '3.1.1'}: a QoS 2 message queued for a subscription granted QoS 1 arrives at QoS 1`, async () => {
    assert.is(await qosOfQueued(version, 1), 1)
  })

  test(`[MQTT-3.8.4-6] ${version === 5 ? 'v5' : '3.1.1'}: a QoS 2 message for a subscription granted QoS 0 is not queued at QoS 2 (QoS 0 to a client away may be lost)`, async () => {
    const qos = await qosOfQueued(version, 0)
    assert.ok(qos === undefined || qos === 0, `arrived at QoS ${String(qos)}`)
  })
}

test.run()
