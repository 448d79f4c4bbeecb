// Canary of src/engine/intercept-parsed-packets.ts on the pinned aedes
// 2.0.0-beta.1: each client's parser knows its client (`parser.client`, which
// the shared listeners use instead of a closure per connection), the filters
// run in front of aedes's own handling (the last added first), a filter that
// returns false hides the packet from aedes, and parse errors pass the error
// filters before aedes closes the connection.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { addPacketFilter, addParseErrorFilter, type FilteredClient } from '../../src/engine/intercept-parsed-packets.ts'
import type { AnyPacket } from '../../src/engine/v5-shim-context.ts'
import { RawMqtt } from '../helpers/raw-mqtt.ts'
import { startPinnedAedes } from './pinned-aedes.ts'

test('aedes sets parser.client, and every client shares the same two parser listeners', async () => {
  const broker = await startPinnedAedes()
  const clients: FilteredClient[] = []
  const internals = broker.aedes as unknown as { handle: (conn: unknown, req: unknown) => FilteredClient }
  addPacketFilter(broker.aedes, () => true)
  const handle = internals.handle
  internals.handle = function (conn, req) { const c = handle.call(this, conn, req); clients.push(c); return c }
  try {
    const a = await RawMqtt.connected(broker.port, 4, { clientId: 'a' })
    const b = await RawMqtt.connected(broker.port, 5, { clientId: 'b' })
    assert.is(clients.length, 2)
    for (const c of clients) assert.is((c._parser as unknown as { client: unknown }).client, c, 'the parser points back at its client')
    assert.is(clients[0]._parser.listeners('packet').length, 1)
    assert.is(clients[0]._parser.listeners('packet')[0], clients[1]._parser.listeners('packet')[0], 'one packet listener function for all clients')
    assert.is(clients[0]._parser.listeners('error')[0], clients[1]._parser.listeners('error')[0], 'one error listener function for all clients')
    a.c.socket.destroy()
    b.c.socket.destroy()
  } finally {
    await broker.close()
  }
})

test('filters run before aedes, the last added first; false keeps the packet from aedes', async () => {
  const broker = await startPinnedAedes()
  const seen: string[] = []
  addPacketFilter(broker.aedes, (_client, packet: AnyPacket) => { seen.push(`first:${packet.cmd}`); return true })
  addPacketFilter(broker.aedes, (_client, packet: AnyPacket) => {
    seen.push(`second:${packet.cmd}`)
    return !(packet.cmd === 'subscribe' && packet.messageId === 7) // aedes never sees SUBSCRIBE 7
  })
  try {
    const { c } = await RawMqtt.connected(broker.port, 4, { clientId: 'order' })
    assert.equal(seen, ['second:connect', 'first:connect'])
    c.send({ cmd: 'subscribe', messageId: 7, subscriptions: [{ topic: 'x', qos: 0 }] })
    assert.ok(await c.nothing('suback', 300), 'a packet a filter refused is not handled by aedes')
    c.send({ cmd: 'subscribe', messageId: 8, subscriptions: [{ topic: 'y', qos: 0 }] })
    assert.is((await c.next('suback')).messageId, 8, 'the next packet is')
    assert.equal(seen.slice(2), ['second:subscribe', 'second:subscribe', 'first:subscribe'])
    c.socket.destroy()
  } finally {
    await broker.close()
  }
})

test('a parse error passes the error filters, then aedes closes the connection', async () => {
  const broker = await startPinnedAedes()
  const errors: string[] = []
  addParseErrorFilter(broker.aedes, (_client, err) => { errors.push(err.message); return true })
  try {
    const { c } = await RawMqtt.connected(broker.port, 4, { clientId: 'bad' })
    const closed = new Promise<void>((resolve) => c.socket.once('close', () => { resolve() }))
    c.socket.write(Buffer.from([0x00, 0x00])) // packet type 0 is reserved: mqtt-packet's parse error
    await closed
    assert.is(errors.length, 1)
  } finally {
    await broker.close()
  }
})

test.run()
