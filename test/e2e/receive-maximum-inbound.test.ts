// Issue 9, bug 4: the Receive Maximum edgemq advertises in CONNACK
// (limits.maxInflight) is enforced. A v5 client that has more QoS 1/2 PUBLISH
// packets outstanding than that (QoS 1 not yet PUBACKed, QoS 2 not yet
// PUBCOMPed) is disconnected with 0x93 (Receive Maximum exceeded) [MQTT-3.3.4-9]
// (MQTT 5.0 §3.3.4, §4.9). Before, every one was accepted.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { startBrokerInProcess, type InProcessBroker } from '../helpers/broker-process.ts'
import { MosquittoProcess } from '../helpers/mosquitto-process.ts'
import { RawMqtt } from '../helpers/raw-mqtt.ts'
import mqttPacket from 'mqtt-packet'

const test = suite<{ b: InProcessBroker }>('inbound Receive Maximum')

test.before(async (ctx) => {
  ctx.b = await startBrokerInProcess('listeners:\n  - { name: tcp, type: tcp, host: 127.0.0.1, port: 0 }\nlimits: { maxInflight: 3 }\nsys: { interval: 0 }\n')
})
test.after(async (ctx) => { await ctx.b?.stop() })

test('CONNACK says Receive Maximum 3; a 4th unreleased QoS 2 PUBLISH gets DISCONNECT 0x93 and the close [MQTT-3.3.4-9]', async ({ b }) => {
  const { c, connack } = await RawMqtt.connected(b.port, 5)
  assert.is(connack.properties?.receiveMaximum, 3)
  for (let id = 1; id <= 3; id++) {
    c.send({ cmd: 'publish', topic: 'rm/in', payload: 'x', qos: 2, messageId: id })
    assert.is((await c.next('pubrec')).messageId, id)
  }
  c.send({ cmd: 'publish', topic: 'rm/in', payload: 'x', qos: 2, messageId: 4 })
  const d = await c.next('disconnect')
  assert.is(d.reasonCode, 0x93)
  await c.closedByBroker()
})

test('QoS 1 PUBLISH packets whose PUBACK is still due count too', async ({ b }) => {
  const { c } = await RawMqtt.connected(b.port, 5)
  // One write of 8: all are parsed before any PUBACK can go, since a retained
  // QoS 1 message is acknowledged only once it is durable (a LevelDB write).
  // (A QoS 1 message the broker acknowledges at once frees its slot at once.)
  c.write(Buffer.concat([1, 2, 3, 4, 5, 6, 7, 8].map((id) => mqttPacket.generate({ cmd: 'publish', topic: `rm/burst/${id}`, payload: 'x', qos: 1, retain: true, messageId: id } as never, { protocolVersion: 5 }))))
  assert.is((await c.next('disconnect')).reasonCode, 0x93)
  await c.closedByBroker()
})

test('a client that keeps to the window is never disconnected: released QoS 2 and acknowledged QoS 1 free their slots; a DUP resend of an outstanding id takes none', async ({ b }) => {
  const { c } = await RawMqtt.connected(b.port, 5)
  for (let round = 0; round < 4; round++) {
    for (let i = 1; i <= 3; i++) {
      const id = round * 3 + i
      c.send({ cmd: 'publish', topic: 'rm/ok', payload: 'x', qos: 2, messageId: id })
      await c.next('pubrec')
    }
    // the resend of an outstanding id is the same message, not a new one
    c.send({ cmd: 'publish', topic: 'rm/ok', payload: 'x', qos: 2, messageId: round * 3 + 1, dup: true })
    await c.next('pubrec')
    for (let i = 1; i <= 3; i++) {
      c.send({ cmd: 'pubrel', messageId: round * 3 + i })
      await c.next('pubcomp')
    }
  }
  for (let id = 100; id < 110; id++) {
    c.send({ cmd: 'publish', topic: 'rm/ok', payload: 'x', qos: 1, messageId: id })
    assert.is((await c.next('puback')).messageId, id)
  }
  assert.not.ok(c.closed)
  assert.is(c.received.filter((p) => p.cmd === 'disconnect').length, 0)
  await c.disconnect()
})

test('3.1.1 has no Receive Maximum: 5 unreleased QoS 2 PUBLISH packets all get PUBREC', async ({ b }) => {
  const { c } = await RawMqtt.connected(b.port, 4)
  for (let id = 1; id <= 5; id++) {
    c.send({ cmd: 'publish', topic: 'rm/v4', payload: 'x', qos: 2, messageId: id })
    assert.is((await c.next('pubrec')).messageId, id)
  }
  await c.disconnect()
})

test('mosquitto 2.0.11 at its default max_inflight_messages 20 (documented difference): Receive Maximum 20, the 21st unreleased QoS 2 gets PUBREC 0x97 and a close without DISCONNECT', async () => {
  const m = await MosquittoProcess.start({ extraConfig: 'max_inflight_messages 20' }) // the harness sets 0; 20 is Mosquitto's default
  try {
    const { c, connack } = await RawMqtt.connected(m.port, 5)
    assert.is(connack.properties?.receiveMaximum, 20)
    for (let id = 1; id <= 20; id++) {
      c.send({ cmd: 'publish', topic: 'rm/m', payload: 'x', qos: 2, messageId: id })
      assert.is((await c.next('pubrec')).reasonCode ?? 0, 0)
    }
    c.send({ cmd: 'publish', topic: 'rm/m', payload: 'x', qos: 2, messageId: 21 })
    assert.is((await c.next('pubrec')).reasonCode, 0x97)
    await c.closedByBroker()
    assert.is(c.received.filter((p) => p.cmd === 'disconnect').length, 0)
  } finally { await m.dispose() }
})

test.run()
