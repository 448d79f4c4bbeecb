// Canary of src/engine/install-publish-encoder.ts: aedes 2.0.0-beta.1 still
// writes every outgoing packet through the writeToStream property of the
// mqtt-packet module object (lib/write.js), looked up at call time, so the
// encoder installed there is what encodes a delivery.
import mqttPacket from 'mqtt-packet'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { installPublishEncoder } from '../../src/engine/install-publish-encoder.ts'
import { RawMqtt } from '../helpers/raw-mqtt.ts'
import { startPinnedAedes } from './pinned-aedes.ts'

test('a QoS 0 message to two 3.1.1 subscribers is encoded once by the installed encoder', async () => {
  const broker = await startPinnedAedes()
  const encoder = installPublishEncoder(mqttPacket as unknown as Parameters<typeof installPublishEncoder>[0])
  try {
    const subs = await Promise.all([1, 2].map(async (i) => {
      const { c } = await RawMqtt.connected(broker.port, 4, { clientId: `sub${i}` })
      c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'fan/out', qos: 0 }] })
      await c.next('suback')
      return c
    }))
    const before = encoder.sharedHits
    await new Promise<void>((resolve) => broker.aedes.publish({ cmd: 'publish', topic: 'fan/out', payload: Buffer.from('once'), qos: 0, retain: false, dup: false } as never, () => resolve()))
    for (const c of subs) assert.is((await c.next('publish')).payload.toString(), 'once')
    assert.is(encoder.sharedHits - before, 1, 'the second subscriber got the first one\'s buffer')
    for (const c of subs) c.socket.destroy()
  } finally {
    await broker.close()
  }
})

test.run()
