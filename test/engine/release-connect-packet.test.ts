// Canary of src/engine/release-connect-packet.ts on the pinned mqtt-packet
// 9.0.2 and aedes 2.0.0-beta.1: after a CONNECT the parser's `settings` is
// that packet; with only its protocolVersion and bridgeMode kept, the v5
// packets that follow parse exactly as before, and an aedes client with the
// override still exchanges v5 SUBSCRIBE / PUBLISH with properties.
import mqttPacket from 'mqtt-packet'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { installReleaseConnectPacket, releaseConnectPacket } from '../../src/engine/release-connect-packet.ts'
import { RawMqtt } from '../helpers/raw-mqtt.ts'
import { startPinnedAedes } from './pinned-aedes.ts'

type AnyPacket = Record<string, any> & { cmd: string }

const v5 = { protocolVersion: 5 } as const
const connect = mqttPacket.generate({ cmd: 'connect', protocolVersion: 5, clientId: 'c', username: 'u', password: Buffer.from('secret'), keepalive: 30, clean: true, properties: { sessionExpiryInterval: 10 } } as never, v5)
const after = [
  mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a/#', qos: 1, nl: true }], properties: { subscriptionIdentifier: 9, userProperties: { k: 'v' } } } as never, v5),
  mqttPacket.generate({ cmd: 'publish', topic: 'a/b', payload: Buffer.from('x'), qos: 1, messageId: 2, retain: false, dup: false, properties: { contentType: 'text/plain', messageExpiryInterval: 60 } } as never, v5),
  mqttPacket.generate({ cmd: 'puback', messageId: 3, reasonCode: 0x10, properties: { reasonString: 'r' } } as never, v5),
  mqttPacket.generate({ cmd: 'disconnect', reasonCode: 0x04, properties: { sessionExpiryInterval: 5 } } as never, v5)
]

function parseAll (release: boolean): { settingsWasConnect: boolean, packets: string[] } {
  const parser = mqttPacket.parser() as ReturnType<typeof mqttPacket.parser> & { settings: unknown }
  const packets: string[] = []
  let settingsWasConnect = false
  parser.on('packet', (p: AnyPacket) => {
    if (p.cmd === 'connect') {
      settingsWasConnect = parser.settings === p
      if (release) releaseConnectPacket(parser, p)
      return
    }
    packets.push(JSON.stringify(p))
  })
  parser.on('error', (err: Error) => { packets.push(`error: ${err.message}`) })
  parser.parse(Buffer.concat([connect, ...after]))
  return { settingsWasConnect, packets }
}

test('mqtt-packet keeps the CONNECT as parser.settings; with only its version kept, v5 packets after it parse the same', () => {
  const plain = parseAll(false)
  const released = parseAll(true)
  assert.ok(plain.settingsWasConnect, 'settings is the CONNECT packet')
  assert.is(plain.packets.length, 4)
  assert.not.ok(plain.packets.some((p) => p.startsWith('error')))
  assert.equal(released.packets, plain.packets)
})

test('an aedes client with the override: the parser no longer holds the CONNECT, and v5 traffic works', async () => {
  const broker = await startPinnedAedes()
  const parsers: Array<{ settings?: unknown }> = []
  const internals = broker.aedes as unknown as { handle: (conn: unknown, req: unknown) => { _parser: { settings?: unknown } } }
  installReleaseConnectPacket(broker.aedes)
  const handle = internals.handle
  internals.handle = function (conn, req) { const c = handle.call(this, conn, req); parsers.push(c._parser); return c }
  try {
    const { c } = await RawMqtt.connected(broker.port, 5, { clientId: 'rel', username: 'u', password: Buffer.from('secret') })
    assert.equal(parsers[0].settings, { protocolVersion: 5, bridgeMode: undefined })
    c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a/#', qos: 1 }], properties: { subscriptionIdentifier: 4 } })
    await c.next('suback')
    c.send({ cmd: 'publish', topic: 'a/b', payload: Buffer.from('hi'), qos: 1, messageId: 7, properties: { contentType: 'text/plain' } })
    const got = await c.next('publish')
    assert.is(got.payload.toString(), 'hi')
    assert.is(got.properties?.contentType, 'text/plain')
    assert.is(got.properties?.subscriptionIdentifier, 4)
    c.socket.destroy()
  } finally {
    await broker.close()
  }
})

test.run()
