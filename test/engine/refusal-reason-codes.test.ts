// Canary for src/engine/refusal-reason-codes.ts against the pinned aedes: a
// refused v5 PUBLISH is acknowledged through mqtt-packet's writeToStream with
// 0x87 and the packet id of the PUBLISH, and a refused SUBSCRIBE filter is
// granted 0x87 in a SUBACK written the same way, for the very subscription
// object authorizeSubscribe saw. The override relies on all three; if an
// aedes upgrade changes one, the codes below stop being 0x97 and this fails.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createServer, type Server } from 'node:net'
import { Aedes } from 'aedes'
import mqttPacket from 'mqtt-packet'
import { RawMqtt } from '../helpers/raw-mqtt.ts'
import { installRefusalReasonCodes, noteRefusedPublish, noteRefusedSubscription, watchClientSubscribes } from '../../src/engine/refusal-reason-codes.ts'

let aedes: Aedes
let server: Server
let port: number

test.before(async () => {
  installRefusalReasonCodes(mqttPacket as unknown as Parameters<typeof installRefusalReasonCodes>[0])
  aedes = new Aedes({
    authorizePublish: (client: { conn: object } | null, packet: { topic: string, messageId?: number }, done: (err?: Error | null) => void) => {
      if (packet.topic.startsWith('quota/') && client !== null) noteRefusedPublish(client.conn, packet.messageId, 0x97)
      done(packet.topic.startsWith('ok/') ? null : new Error('refused'))
    },
    authorizeSubscribe: (_client: unknown, sub: { topic: string }, done: (err: Error | null, sub: unknown) => void) => {
      if (sub.topic.startsWith('quota/')) noteRefusedSubscription(sub, 0x97)
      done(null, sub.topic.startsWith('ok/') ? sub : null)
    }
  } as unknown as ConstructorParameters<typeof Aedes>[0])
  await aedes.listen()
  server = createServer((socket) => { watchClientSubscribes(aedes.handle(socket)) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  port = (server.address() as { port: number }).port
})
test.after(async () => {
  await new Promise<void>((resolve) => aedes.close(() => resolve()))
  await new Promise<void>((resolve) => server.close(() => resolve()))
})

test('v5 PUBACK: a refusal noted as quota says 0x97, any other stays 0x87, an allowed one 0', async () => {
  const { c } = await RawMqtt.connected(port, 5)
  try {
    c.send({ cmd: 'publish', topic: 'quota/a', payload: Buffer.from('x'), qos: 1, messageId: 7, retain: true })
    assert.is((await c.next('puback')).reasonCode, 0x97)
    c.send({ cmd: 'publish', topic: 'acl/a', payload: Buffer.from('x'), qos: 1, messageId: 8 })
    assert.is((await c.next('puback')).reasonCode, 0x87)
    c.send({ cmd: 'publish', topic: 'ok/a', payload: Buffer.from('x'), qos: 1, messageId: 9 })
    assert.is((await c.next('puback')).reasonCode ?? 0, 0)
    c.send({ cmd: 'publish', topic: 'quota/b', payload: Buffer.from('x'), qos: 2, messageId: 10 })
    assert.is((await c.next('pubrec')).reasonCode, 0x97)
  } finally { c.destroy() }
})

test('v5 SUBACK: each filter gets its own code, in order, duplicates folded as aedes does', async () => {
  const { c } = await RawMqtt.connected(port, 5)
  try {
    c.send({ cmd: 'subscribe', messageId: 3, subscriptions: [{ topic: 'ok/1', qos: 1 }, { topic: 'quota/1', qos: 1 }, { topic: 'acl/1', qos: 0 }, { topic: 'quota/2', qos: 0 }] })
    assert.equal((await c.next('suback')).granted, [1, 0x97, 0x87, 0x97])
  } finally { c.destroy() }
})

test('3.1.1 SUBACK keeps its one failure code 0x80', async () => {
  const { c } = await RawMqtt.connected(port, 4)
  try {
    c.send({ cmd: 'subscribe', messageId: 4, subscriptions: [{ topic: 'quota/1', qos: 1 }, { topic: 'ok/1', qos: 0 }] })
    assert.equal((await c.next('suback')).granted, [0x80, 0])
  } finally { c.destroy() }
})

test.run()
