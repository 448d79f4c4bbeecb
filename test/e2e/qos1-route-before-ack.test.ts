// A QoS 1 message is routed while what makes its PUBACK true is still on its
// way to disk, and only the PUBACK waits (src/engine/route-qos1-before-ack.ts).
// The durable hand-off is held open by a part's beforeAck hook (the seam the
// bridge's disk queue uses) on top of the real journal write for the
// persistent subscriber: the subscriber must get the message while the
// publisher has no PUBACK, and the PUBACK must come once the hand-off is done.
// Before the override, aedes routed a QoS 1 message only after its PUBACK
// (and so after the hand-off): the subscriber waited with it.
// PUBACKs of one connection leave in the order of its PUBLISHes [MQTT-4.6.0-2]:
// before the override, a message with nothing to wait for was acknowledged
// ahead of an earlier one still being stored.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { PARTS } from '../../src/parts.ts'
import type { AttachPart } from '../../src/part-context.ts'
import { startBrokerInProcess, type InProcessBroker } from '../helpers/broker-process.ts'
import { RawMqtt } from '../helpers/raw-mqtt.ts'

// Messages on hold/... wait in beforeAck until the test releases them.
const held: Array<() => void> = []
const holdPart: AttachPart = async (ctx) => {
  ctx.hooks.beforeAck.push((_client, msg) => msg.topic.startsWith('hold/') ? new Promise<void>((resolve) => { held.push(resolve) }) : undefined)
  return {}
}
const releaseAll = (): void => { for (const r of held.splice(0)) r() }

let b: InProcessBroker
test.before(async () => { b = await startBrokerInProcess(undefined, { parts: [...PARTS, holdPart] }) })
test.after(async () => { releaseAll(); await b?.stop() })

for (const version of [4, 5] as const) {
  test(`v${version}: a persistent subscriber gets a QoS 1 message before its PUBACK, and the PUBACK follows the hand-off`, async () => {
    const sub = (await RawMqtt.connected(b.port, version, { clientId: `keeper-${version}`, clean: false, ...(version === 5 ? { properties: { sessionExpiryInterval: 300 } } : {}) })).c
    const pub = (await RawMqtt.connected(b.port, version, { clientId: `pub-${version}` })).c
    try {
      sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: `hold/${version}/#`, qos: 1 }] })
      await sub.next('suback')
      pub.send({ cmd: 'publish', topic: `hold/${version}/a`, payload: Buffer.from('m1'), qos: 1, messageId: 7, retain: false, dup: false })
      const got = await sub.next('publish', 5000)
      assert.is(got.payload.toString(), 'm1')
      sub.send({ cmd: 'puback', messageId: got.messageId })
      assert.ok(await pub.nothing('puback', 300), 'no PUBACK while the hand-off is open')
      assert.is(held.length, 1)
      releaseAll()
      const ack = await pub.next('puback', 5000)
      assert.is(ack.messageId, 7)
    } finally {
      releaseAll()
      await pub.disconnect()
      await sub.disconnect()
    }
  })
}

test('PUBACKs leave in the order the PUBLISHes came, whatever each waits for [MQTT-4.6.0-2]', async () => {
  const sub = (await RawMqtt.connected(b.port, 4, { clientId: 'order-sub' })).c
  const pub = (await RawMqtt.connected(b.port, 4, { clientId: 'order-pub' })).c
  try {
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'hold/order', qos: 1 }, { topic: 'free/order', qos: 1 }] })
    await sub.next('suback')
    // one write: aedes handles both PUBLISHes of the read together
    const bytes = [
      { cmd: 'publish', topic: 'hold/order', payload: Buffer.from('first'), qos: 1, messageId: 1, retain: false, dup: false },
      { cmd: 'publish', topic: 'free/order', payload: Buffer.from('second'), qos: 1, messageId: 2, retain: false, dup: false }
    ]
    const { default: mqttPacket } = await import('mqtt-packet')
    pub.write(Buffer.concat(bytes.map((p) => mqttPacket.generate(p as never))))
    // both are routed, in order, while the first one's hand-off is open
    const a = await sub.next('publish', 5000)
    const c = await sub.next('publish', 5000)
    assert.equal([a.payload.toString(), c.payload.toString()], ['first', 'second'])
    assert.ok(await pub.nothing('puback', 300), 'the second PUBACK waits for the first')
    releaseAll()
    const ack1 = await pub.next('puback', 5000)
    const ack2 = await pub.next('puback', 5000)
    assert.equal([ack1.messageId, ack2.messageId], [1, 2])
  } finally {
    releaseAll()
    await pub.disconnect()
    await sub.disconnect()
  }
})

test('PUBLISHes of later reads are acknowledged after an earlier one whose hand-off is open, in order', async () => {
  const pub = (await RawMqtt.connected(b.port, 4, { clientId: 'ahead-pub' })).c
  try {
    pub.send({ cmd: 'publish', topic: 'hold/ahead', payload: Buffer.from('x'), qos: 1, messageId: 1, retain: false, dup: false })
    // wait until the broker holds it, then send more: later reads of the connection
    for (let i = 0; i < 100 && held.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20))
    assert.is(held.length, 1)
    for (let id = 2; id <= 4; id++) pub.send({ cmd: 'publish', topic: 'free/ahead', payload: Buffer.from('y'), qos: 1, messageId: id, retain: false, dup: false })
    assert.ok(await pub.nothing('puback', 300))
    releaseAll()
    const ids: number[] = []
    for (let i = 0; i < 4; i++) ids.push((await pub.next('puback', 5000)).messageId)
    assert.equal(ids, [1, 2, 3, 4])
  } finally {
    releaseAll()
    await pub.disconnect()
  }
})

test.run()
