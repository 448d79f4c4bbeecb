// Canary for src/engine/skip-client-announcements.ts: the pinned aedes still
// publishes $SYS/<id>/new/clients and $SYS/<id>/disconnect/clients for every
// client and new/subscribes, new/unsubscribes for every SUBSCRIBE and
// UNSUBSCRIBE (if it stops, the override can go); with the override none is
// published while other messages still are.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { RawMqtt } from '../helpers/raw-mqtt.ts'
import { startPinnedAedes } from './pinned-aedes.ts'
import { installSkipClientAnnouncements } from '../../src/engine/skip-client-announcements.ts'

async function topicsSeen (install: boolean): Promise<string[]> {
  const broker = await startPinnedAedes()
  const seen: string[] = []
  try {
    if (install) installSkipClientAnnouncements(broker.aedes)
    broker.aedes.on('publish', (packet: { topic: string }) => { if (!packet.topic.endsWith('/heartbeat')) seen.push(packet.topic.replace(broker.aedes.id, 'ID')) })
    const { c } = await RawMqtt.connected(broker.port, 4, { clientId: 'announce-1' })
    c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a/b', qos: 0 }] })
    await c.next('suback')
    c.send({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: ['a/b'] })
    await c.next('unsuback')
    c.send({ cmd: 'publish', topic: 'plain/topic', qos: 0, payload: 'x', retain: false, dup: false })
    await c.disconnect()
    await new Promise((resolve) => setTimeout(resolve, 100))
  } finally {
    await broker.close()
  }
  return seen
}

test('plain aedes publishes new/clients, disconnect/clients, new/subscribes and new/unsubscribes', async () => {
  const seen = await topicsSeen(false)
  for (const t of ['new/clients', 'disconnect/clients', 'new/subscribes', 'new/unsubscribes']) {
    assert.ok(seen.includes(`$SYS/ID/${t}`), `aedes no longer publishes ${t}: the override may be unneeded for it (${seen.join(', ')})`)
  }
})

test('with the override none is published; a client\'s own message still is', async () => {
  const seen = await topicsSeen(true)
  assert.equal(seen, ['plain/topic'])
})

test.run()
