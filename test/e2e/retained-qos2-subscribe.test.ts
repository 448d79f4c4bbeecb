// A retained QoS 2 message sent to a persistent session on SUBSCRIBE goes
// through PUBREC / PUBREL / PUBCOMP like any QoS 2 message [MQTT-4.3.3], and a
// PUBREL not yet completed is resent after a reconnect [MQTT-4.4.0-1]. aedes
// sends retained messages without storing them, so the store did not know the
// packet id at PUBREC, failed ("no such packet") and aedes closed the
// subscriber: 3.1.1 CleanSession 0 and v5 Session Expiry > 0 alike (found by
// the model-based test, test/e2e/store-model.test.ts). Real sockets.
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

for (const version of [4, 5] as const) {
  test(`${version === 5 ? 'v5' : '3.1.1'} persistent session: PUBREC of a retained QoS 2 message gets PUBREL, and after a reconnect the PUBREL again`, async () => {
    b = await startBrokerInProcess()
    const { c: pub } = await RawMqtt.connected(b.port, 4)
    open.push(pub)
    pub.send({ cmd: 'publish', topic: 'rq2/t', payload: 'kept', qos: 2, retain: true, messageId: 1 })
    await pub.next('pubrec')
    pub.send({ cmd: 'pubrel', messageId: 1 })
    await pub.next('pubcomp')
    const session = { clientId: `rq2-${version}`, clean: false, ...(version === 5 ? { properties: { sessionExpiryInterval: 60 } } : {}) }
    const { c: sub } = await RawMqtt.connected(b.port, version, session)
    open.push(sub)
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'rq2/t', qos: 2 }] })
    await sub.next('suback')
    const got = await sub.next('publish')
    assert.is(got.qos, 2)
    assert.is(got.retain, true)
    sub.send({ cmd: 'pubrec', messageId: got.messageId })
    assert.is((await sub.next('pubrel')).messageId, got.messageId)
    await sub.disconnect() // without PUBCOMP
    const { c: back, connack } = await RawMqtt.connected(b.port, version, session)
    open.push(back)
    assert.is(connack.sessionPresent, true)
    assert.is((await back.next('pubrel')).messageId, got.messageId)
    back.send({ cmd: 'pubcomp', messageId: got.messageId })
    assert.ok(await back.nothing('pubrel', 300))
    assert.is(back.closed, false)
  })
}

test.run()
