// Canary for src/engine/hold-pubacks.ts: the pinned aedes still writes a QoS 1
// PUBACK through mqtt-packet's writeToStream *before* it calls broker.publish
// (so a held PUBACK lets the publish go on), runs the offline enqueue
// (persistence.outgoingEnqueueCombi) to its end before the `published` hook,
// and passes that hook a packet carrying the PUBLISH's payload object (the key
// a held PUBACK is released by). Then: the held PUBACK leaves only once the
// enqueue resolved, and PUBACKs held behind it keep their order.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import mqttPacket from 'mqtt-packet'
import { expectPuback, installHoldPubacks, releasePuback } from '../../src/engine/hold-pubacks.ts'
import { RawMqtt } from '../helpers/raw-mqtt.ts'
import { startPinnedAedes } from './pinned-aedes.ts'

test('aedes writes the PUBACK before routing and calls published after the enqueue: a held PUBACK leaves after the store, in order', async () => {
  const steps: string[] = []
  let releaseEnqueue!: () => void
  const enqueueGate = new Promise<void>((resolve) => { releaseEnqueue = resolve })
  const b = await startPinnedAedes({
    // the order edgemq's engine relies on: authorize (slot), PUBACK write (held), enqueue, published (release)
    authorizePublish: (client: { conn: object }, packet: { messageId: number, payload: Buffer, topic: string }, done: (err: Error | null) => void) => {
      expectPuback(client.conn, packet.messageId, packet.payload, packet.topic === 'held/a')
      steps.push(`authorize ${packet.messageId}`)
      done(null)
    },
    published: (packet: { payload: Buffer, qos: number, topic: string }, _client: unknown, done: () => void) => {
      if (packet.topic.startsWith('held/')) steps.push(`published ${packet.topic}`)
      releasePuback(packet.payload)
      done()
    }
  })
  installHoldPubacks(mqttPacket as unknown as Parameters<typeof installHoldPubacks>[0])
  const persistence = (b.aedes as unknown as { persistence: { outgoingEnqueueCombi: (subs: unknown[], p: { topic: string }) => Promise<void> } }).persistence
  const enqueue = persistence.outgoingEnqueueCombi.bind(persistence)
  persistence.outgoingEnqueueCombi = async (subs, packet) => {
    if (packet.topic === 'held/a') { steps.push('enqueue held/a'); await enqueueGate; steps.push('enqueued held/a') }
    await enqueue(subs, packet)
  }
  const { c: pub } = await RawMqtt.connected(b.port, 4, { clientId: 'canary-pub' })
  try {
    pub.send({ cmd: 'publish', topic: 'held/a', payload: Buffer.from('a'), qos: 1, messageId: 1 })
    pub.send({ cmd: 'publish', topic: 'other/b', payload: Buffer.from('b'), qos: 1, messageId: 2 })
    // aedes went on to the enqueue although the PUBACK of message 1 was not sent
    const until = Date.now() + 3000
    while (!steps.includes('enqueue held/a') && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 10))
    assert.ok(steps.includes('enqueue held/a'), `aedes did not call outgoingEnqueueCombi after writing the PUBACK: ${steps.join(', ')}`)
    assert.ok(await pub.nothing('puback', 300), 'a PUBACK left before the enqueue of message 1 resolved (held ones must wait; 2 queues behind 1)')
    releaseEnqueue()
    const first = await pub.next('puback')
    const second = await pub.next('puback')
    assert.equal([first.messageId, second.messageId], [1, 2], 'PUBACK order')
    assert.ok(steps.indexOf('enqueued held/a') < steps.indexOf('published held/a'), `aedes called published before the enqueue resolved: ${steps.join(', ')}`)
  } finally {
    pub.destroy()
    await b.close()
  }
})

test('a held PUBACK whose message could not be stored: PUBACK 0x80 to a v5 publisher, the connection closed for a 3.1.1 one (no negative PUBACK), the PUBACKs before it sent', async () => {
  const b = await startPinnedAedes({
    authorizePublish: (client: { conn: object }, packet: { messageId: number, payload: Buffer, topic: string }, done: (err: Error | null) => void) => {
      expectPuback(client.conn, packet.messageId, packet.payload, true)
      done(null)
    },
    published: (packet: { payload: Buffer, topic: string }, _client: unknown, done: () => void) => {
      releasePuback(packet.payload, packet.topic === 'fail')
      done()
    }
  })
  installHoldPubacks(mqttPacket as unknown as Parameters<typeof installHoldPubacks>[0])
  try {
    const { c: v5 } = await RawMqtt.connected(b.port, 5, { clientId: 'canary-v5' })
    v5.send({ cmd: 'publish', topic: 'ok', payload: Buffer.from('a'), qos: 1, messageId: 1 })
    v5.send({ cmd: 'publish', topic: 'fail', payload: Buffer.from('b'), qos: 1, messageId: 2 })
    const a = await v5.next('puback')
    const f = await v5.next('puback')
    assert.equal([a.messageId, a.reasonCode ?? 0], [1, 0])
    assert.equal([f.messageId, f.reasonCode], [2, 0x80], 'unspecified error for the message not stored')
    v5.destroy()
    const { c: v4 } = await RawMqtt.connected(b.port, 4, { clientId: 'canary-v4' })
    v4.send({ cmd: 'publish', topic: 'ok', payload: Buffer.from('a'), qos: 1, messageId: 1 })
    v4.send({ cmd: 'publish', topic: 'fail', payload: Buffer.from('b'), qos: 1, messageId: 2 })
    assert.is((await v4.next('puback')).messageId, 1)
    await v4.closedByBroker()
    assert.is(v4.received.filter((p) => p.cmd === 'puback').length, 0, 'no PUBACK for the message not stored')
  } finally {
    await b.close()
  }
})

test.run()
