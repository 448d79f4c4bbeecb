// Canary of src/engine/set-maximum-packet-size.ts: aedes 2.0.0-beta.1 keeps
// its maximumPacketSize option in broker.maximumPacketSize and reads it there
// when it announces the limit in a v5 CONNACK and checks inbound packets.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { setMaximumPacketSize } from '../../src/engine/set-maximum-packet-size.ts'
import { RawMqtt } from '../helpers/raw-mqtt.ts'
import { startPinnedAedes } from './pinned-aedes.ts'

test('a new limit set on the running instance is the one announced and enforced', async () => {
  const broker = await startPinnedAedes({ maximumPacketSize: 100_000 })
  try {
    assert.is((broker.aedes as unknown as { maximumPacketSize: number }).maximumPacketSize, 100_000)
    setMaximumPacketSize(broker.aedes, 200)
    const { c, connack } = await RawMqtt.connected(broker.port, 5)
    assert.is(connack.properties?.maximumPacketSize, 200)
    c.send({ cmd: 'publish', topic: 't', payload: Buffer.alloc(500), qos: 0, retain: false, dup: false })
    const disconnect = await c.next('disconnect')
    assert.is(disconnect.reasonCode, 0x95)
    c.socket.destroy()
  } finally {
    await broker.close()
  }
})

test.run()
