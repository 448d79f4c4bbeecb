// Canary for src/engine/count-outgoing-inflight.ts on the pinned aedes (plain,
// in-memory persistence, real loopback sockets, raw MQTT clients): aedes still
// writes through mqtt-packet's writeToStream with client.conn as the stream,
// still parses into client._parser, and keeps no broker-wide inflight figure
// of its own; and the counter follows QoS 1 and QoS 2 flows to their end.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import mqttPacket from 'mqtt-packet'
import { installCountOutgoingInflight } from '../../src/engine/count-outgoing-inflight.ts'
import { RawMqtt } from '../helpers/raw-mqtt.ts'
import { startPinnedAedes } from './pinned-aedes.ts'

const waitFor = async (what: string, check: () => boolean, ms = 5_000): Promise<void> => {
  const until = performance.now() + ms
  while (!check()) {
    if (performance.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

test('aedes keeps no inflight figure; the override counts QoS 1/2 sent until PUBACK / PUBCOMP / failed PUBREC, and the close ends them', async () => {
  const b = await startPinnedAedes()
  const counter = installCountOutgoingInflight(b.aedes, mqttPacket)
  assert.not.ok('inflight' in b.aedes, 'aedes has an inflight figure now: derive the metric from it instead')
  const { c: sub } = await RawMqtt.connected(b.port, 5, { clientId: 'sub' })
  const { c: sub2 } = await RawMqtt.connected(b.port, 4, { clientId: 'sub2' })
  const clients: RawMqtt[] = [sub, sub2]
  try {
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 't/#', qos: 2 }] })
    await sub.next('suback')
    sub2.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 't/#', qos: 1 }] })
    await sub2.next('suback')
    const { c: pub } = await RawMqtt.connected(b.port, 4, { clientId: 'pub' })
    clients.push(pub)
    let id = 0
    const publish = (topic: string, qos: 0 | 1 | 2): void => { pub.send({ cmd: 'publish', topic, payload: Buffer.from('x'), qos, retain: false, dup: false, messageId: qos === 0 ? undefined : ++id }) }
    publish('t/1', 1)
    publish('t/2', 2)
    publish('t/0', 0)
    const got = [await sub.next('publish'), await sub.next('publish'), await sub.next('publish')]
    const q1 = got.find((p) => p.topic === 't/1')!
    const q2 = got.find((p) => p.topic === 't/2')!
    await sub2.next('publish')
    await sub2.next('publish')
    await sub2.next('publish')
    // sub: the QoS 1 and the QoS 2 message; sub2 (granted QoS 1): t/1 and t/2 at QoS 1
    await waitFor('4 in flight', () => counter.count === 4)
    sub.send({ cmd: 'puback', messageId: q1.messageId })
    await waitFor('3 in flight', () => counter.count === 3)
    sub.send({ cmd: 'pubrec', messageId: q2.messageId })
    await sub.next('pubrel')
    assert.is(counter.count, 3, 'the PUBREL phase is still the same flow')
    sub.send({ cmd: 'pubcomp', messageId: q2.messageId })
    await waitFor('2 in flight', () => counter.count === 2)
    sub2.destroy()
    await waitFor('the close ends its flows', () => counter.count === 0)
    // a failed PUBREC (v5, reason >= 0x80) ends a QoS 2 flow [MQTT 5.0 §4.3.3]
    publish('t/3', 2)
    const q3 = await sub.next('publish')
    await waitFor('1 in flight', () => counter.count === 1)
    sub.send({ cmd: 'pubrec', messageId: q3.messageId, reasonCode: 0x80 })
    await waitFor('0 in flight', () => counter.count === 0)
  } finally {
    for (const c of clients) c.destroy()
    await b.close()
  }
})

test.run()
