// Canary of src/engine/disable-number-cache.ts: mqtt-packet 9.0.2 still has
// the `cacheNumbers` switch on writeToStream, the cache it controls is
// numbers.js's `cache` (filled with 65,536 Buffers by the first write when
// on), and with the switch off the packets aedes writes (CONNACK, SUBACK)
// leave it empty.
import { createRequire } from 'node:module'
import { PassThrough } from 'node:stream'
import mqttPacket from 'mqtt-packet'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { disableNumberCache } from '../../src/engine/disable-number-cache.ts'
import { RawMqtt } from '../helpers/raw-mqtt.ts'
import { startPinnedAedes } from './pinned-aedes.ts'

const require = createRequire(import.meta.url)
const numbers = require(require.resolve('mqtt-packet/numbers.js', { paths: [require.resolve('aedes')] })) as { cache: Record<number, Buffer> }
const writeToStream = mqttPacket.writeToStream as unknown as { cacheNumbers: boolean }

test('with the cache off, aedes answers CONNECT and SUBSCRIBE and the number cache stays empty', async () => {
  disableNumberCache(mqttPacket as unknown as Parameters<typeof disableNumberCache>[0])
  assert.is(writeToStream.cacheNumbers, false)
  const broker = await startPinnedAedes()
  try {
    const { c } = await RawMqtt.connected(broker.port, 4, { clientId: 'numbers' })
    c.send({ cmd: 'subscribe', messageId: 4660, subscriptions: [{ topic: 'a/b', qos: 1 }] })
    const suback = await c.next('suback')
    assert.is(suback.messageId, 4660, 'the packet id is still written right')
    c.socket.destroy()
  } finally {
    await broker.close()
  }
  assert.is(Object.keys(numbers.cache).length, 0)
})

test('the switch controls that cache: on, one write fills it with 65,536 Buffers', () => {
  writeToStream.cacheNumbers = true
  mqttPacket.writeToStream({ cmd: 'suback', messageId: 1, granted: [0] } as never, new PassThrough())
  assert.is(Object.keys(numbers.cache).length, 65_536)
  assert.ok(Buffer.isBuffer(numbers.cache[4660]))
  writeToStream.cacheNumbers = false
})

test.run()
