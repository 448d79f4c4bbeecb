// Canary of src/engine/watch-incoming-store.ts: aedes 2.0.0-beta.1 still calls
// persistence.incomingStorePacket(client, packet) for a QoS 2 PUBLISH and
// persistence.incomingDelPacket(client, packet) on its PUBREL, looked up on
// the persistence object at call time (so a wrapper set after start is used).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { UnreleasedQos2 } from '../../src/limits/unreleased-qos2.ts'
import { watchIncomingStore } from '../../src/engine/watch-incoming-store.ts'
import { RawMqtt } from '../helpers/raw-mqtt.ts'
import { startPinnedAedes } from './pinned-aedes.ts'

test('a QoS 2 PUBLISH is seen stored, its PUBREL released', async () => {
  const broker = await startPinnedAedes()
  try {
    const tracker = new UnreleasedQos2(() => 0)
    const watch = watchIncomingStore((broker.aedes as unknown as { persistence: unknown }).persistence, tracker)
    assert.ok(watch !== undefined, 'aedes\'s persistence has incomingStorePacket and incomingDelPacket')
    const { c } = await RawMqtt.connected(broker.port, 4, { clientId: 'q2' })
    c.send({ cmd: 'publish', topic: 't', payload: Buffer.from('x'), qos: 2, messageId: 7, retain: false, dup: false })
    await c.next('pubrec')
    assert.is(tracker.count('q2'), 1)
    c.send({ cmd: 'pubrel', messageId: 7 })
    await c.next('pubcomp')
    assert.is(tracker.count('q2'), 0)
    watch?.unwrap()
    c.socket.destroy()
  } finally {
    await broker.close()
  }
})

test.run()
