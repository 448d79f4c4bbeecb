// Canary for src/engine/drop-delivered-copies.ts: the pinned aedes still gives
// a live QoS 1/2 delivery to a persistent client to persistence.outgoingUpdate
// and writes that same packet object through mqtt-packet's writeToStream once
// outgoingUpdate has resolved, so a mark set there is seen at the write and
// the copy is dropped; an unmarked delivery still goes out.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import mqttPacket from 'mqtt-packet'
import { installDropDeliveredCopies, droppedCopies } from '../../src/engine/drop-delivered-copies.ts'
import { ALREADY_DELIVERED } from '../../src/persistence/outgoing-store.ts'
import { RawMqtt } from '../helpers/raw-mqtt.ts'
import { startPinnedAedes } from './pinned-aedes.ts'

test('a delivery outgoingUpdate marked is not written; the next one is', async () => {
  const b = await startPinnedAedes()
  installDropDeliveredCopies(mqttPacket)
  const persistence = (b.aedes as unknown as { persistence: { outgoingUpdate: (c: unknown, p: Record<string | symbol, unknown>) => Promise<void> } }).persistence
  const update = persistence.outgoingUpdate.bind(persistence)
  const updated: unknown[] = []
  persistence.outgoingUpdate = async (client, packet) => {
    await update(client, packet)
    updated.push(packet)
    if (String(packet.payload) === 'copy') packet[ALREADY_DELIVERED] = true
  }
  const { c: sub } = await RawMqtt.connected(b.port, 4, { clientId: 'canary-sub', clean: false })
  const { c: pub } = await RawMqtt.connected(b.port, 4, { clientId: 'canary-pub' })
  try {
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'canary/#', qos: 1 }] })
    await sub.next('suback')
    const before = droppedCopies.count
    pub.send({ cmd: 'publish', topic: 'canary/a', payload: Buffer.from('copy'), qos: 1, messageId: 1 })
    await pub.next('puback')
    pub.send({ cmd: 'publish', topic: 'canary/a', payload: Buffer.from('new'), qos: 1, messageId: 2 })
    await pub.next('puback')
    const got = await sub.next('publish')
    assert.is(got.payload.toString(), 'new', 'the marked copy was written')
    assert.ok(await sub.nothing('publish', 300), 'a second PUBLISH arrived')
    assert.is(updated.length, 2, 'aedes no longer calls outgoingUpdate for a live delivery to a persistent client')
    assert.is(droppedCopies.count - before, 1)
  } finally {
    sub.destroy(); pub.destroy()
    await b.close()
  }
})

test.run()
