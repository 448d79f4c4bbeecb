// Canary for src/engine/skip-client-announcements.ts: the pinned aedes still
// publishes $SYS/<id>/new/clients and $SYS/<id>/disconnect/clients for every
// client (if it stops, the override can go); with the override neither is
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
    c.send({ cmd: 'publish', topic: 'plain/topic', qos: 0, payload: 'x', retain: false, dup: false })
    await c.disconnect()
    await new Promise((resolve) => setTimeout(resolve, 100))
  } finally {
    await broker.close()
  }
  return seen
}

test('plain aedes publishes a new/clients and a disconnect/clients message per client', async () => {
  const seen = await topicsSeen(false)
  assert.ok(seen.includes('$SYS/ID/new/clients'), `aedes no longer announces new clients: the override can go (${seen.join(', ')})`)
  assert.ok(seen.includes('$SYS/ID/disconnect/clients'), seen.join(', '))
})

test('with the override neither is published; a client\'s own message still is', async () => {
  const seen = await topicsSeen(true)
  assert.equal(seen, ['plain/topic'])
})

test.run()
