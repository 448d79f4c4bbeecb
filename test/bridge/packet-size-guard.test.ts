import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { PassThrough } from 'node:stream'
import mqttPacket from 'mqtt-packet'
import { guardPacketSize } from '../../src/bridge/packet-size-guard.ts'

const publish = (size: number): Buffer => mqttPacket.generate({ cmd: 'publish', topic: 't', payload: Buffer.alloc(size), qos: 0, retain: false, dup: false } as mqttPacket.IPublishPacket)

test('guardPacketSize passes bytes through and destroys the stream on an oversized packet', async () => {
  const inner = new PassThrough()
  const outer = guardPacketSize(inner, 100)
  const got: Buffer[] = []
  outer.on('data', (d: Buffer) => got.push(d))
  const error = new Promise<Error>((resolve) => outer.on('error', resolve))
  inner.write(publish(10))
  inner.write(publish(1000).subarray(0, 4))
  const err = await error
  assert.is((err as Error & { code?: string }).code, 'EDGEMQ_BRIDGE_PACKET_TOO_LARGE')
  assert.is(Buffer.concat(got).length, publish(10).length, 'nothing of the big packet was passed on')
  assert.ok(inner.destroyed)
})

test.run()
