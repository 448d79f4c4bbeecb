// Canary of src/engine/set-server-keep-alive.ts: aedes 2.0.0-beta.1 still
// reads client._serverKeepAlive (set in preConnect) into the v5 CONNACK's
// Server Keep Alive.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { setServerKeepAlive } from '../../src/engine/set-server-keep-alive.ts'
import { RawMqtt } from '../helpers/raw-mqtt.ts'
import { startPinnedAedes } from './pinned-aedes.ts'

test('a keepalive set in preConnect reaches the v5 CONNACK as serverKeepAlive', async () => {
  const broker = await startPinnedAedes({
    preConnect: (client: object, _packet: unknown, done: (err: Error | null, ok: boolean) => void) => { setServerKeepAlive(client, 17); done(null, true) }
  })
  try {
    const { c, connack } = await RawMqtt.connected(broker.port, 5, { keepalive: 0 })
    assert.is(connack.reasonCode, 0)
    assert.is(connack.properties?.serverKeepAlive, 17)
    c.socket.destroy()
  } finally {
    await broker.close()
  }
})

test('without the override aedes (keepaliveLimit 0) announces none', async () => {
  const broker = await startPinnedAedes()
  try {
    const { c, connack } = await RawMqtt.connected(broker.port, 5, { keepalive: 0 })
    assert.is(connack.properties?.serverKeepAlive, undefined)
    c.socket.destroy()
  } finally {
    await broker.close()
  }
})

test.run()
