// The one-buffer PUBLISH/ack encoder: byte-identical to mqtt-packet for
// MQTT 3.1.1, one shared Buffer per QoS 0 message across subscribers, and
// mqtt-packet's own path for MQTT 5 and anything it does not handle.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createServer, connect, type Socket } from 'node:net'
import { once } from 'node:events'
import mqttPacket from 'mqtt-packet'
import { PublishEncoder, type EncodablePacket } from '../../src/core/publish-encoder.ts'
import { installPublishEncoder } from '../../src/engine/install-publish-encoder.ts'

const reference = (packet: EncodablePacket): Buffer => mqttPacket.generate(packet as mqttPacket.Packet, { protocolVersion: 4 })
const asBuffer = (e: Buffer | [Buffer, Buffer] | undefined): Buffer => {
  if (e === undefined) throw new Error('not encoded')
  return Buffer.isBuffer(e) ? e : Buffer.concat(e)
}

const cases: EncodablePacket[] = []
for (const qos of [0, 1, 2]) {
  for (const dup of [false, true]) {
    for (const retain of [false, true]) {
      for (const size of [0, 1, 64, 125, 126, 127, 128, 16_380, 16_384, 20_000, 2_100_000]) {
        cases.push({ cmd: 'publish', topic: 'sensors/héllo/€/temp', payload: Buffer.alloc(size, size % 251), qos, dup, retain, messageId: qos > 0 ? 0xfe01 : undefined })
      }
    }
  }
}

test('encodes PUBLISH of every QoS, flag and length class exactly as mqtt-packet does', () => {
  const encoder = new PublishEncoder()
  for (const p of cases) assert.ok(asBuffer(encoder.encode(p)).equals(reference(p)), `qos ${p.qos} dup ${p.dup} retain ${p.retain} size ${(p.payload as Buffer).length}`)
})

test('encodes PUBACK, PUBREC, PUBREL and PUBCOMP exactly as mqtt-packet does', () => {
  const encoder = new PublishEncoder()
  for (const cmd of ['puback', 'pubrec', 'pubrel', 'pubcomp']) {
    for (const messageId of [1, 255, 256, 65535]) {
      const p = { cmd, messageId }
      assert.ok(asBuffer(encoder.encode(p)).equals(reference(p)), `${cmd} ${messageId}`)
    }
  }
})

test('sends a resent PUBREL with the fixed flags 0010, never a DUP bit [MQTT-3.6.1-1]', () => {
  const encoder = new PublishEncoder()
  assert.equal([...asBuffer(encoder.encode({ cmd: 'pubrel', messageId: 258, dup: true }))], [0x62, 2, 1, 2])
})

test('hands a QoS 0 message to every subscriber as the same Buffer, and re-encodes a new message', () => {
  const encoder = new PublishEncoder()
  const payload = Buffer.from('21.5')
  const first = encoder.encode({ cmd: 'publish', topic: 't/1', payload, qos: 0 })
  for (let i = 0; i < 199; i++) assert.is(encoder.encode({ cmd: 'publish', topic: 't/1', payload, qos: 0 }), first)
  assert.is(encoder.sharedHits, 199)
  const other = encoder.encode({ cmd: 'publish', topic: 't/1', payload: Buffer.from('21.5'), qos: 0 })
  assert.is.not(other, first)
  const retained = encoder.encode({ cmd: 'publish', topic: 't/1', payload, qos: 0, retain: true })
  assert.ok(asBuffer(retained).equals(reference({ cmd: 'publish', topic: 't/1', payload, qos: 0, retain: true })))
  const otherTopic = encoder.encode({ cmd: 'publish', topic: 't/2', payload, qos: 0 })
  assert.ok(asBuffer(otherTopic).equals(reference({ cmd: 'publish', topic: 't/2', payload, qos: 0 })))
})

test('gives QoS 1 deliveries of one message their own packet ids', () => {
  const encoder = new PublishEncoder()
  const payload = Buffer.from('x')
  const a = asBuffer(encoder.encode({ cmd: 'publish', topic: 't', payload, qos: 1, messageId: 1 }))
  const b = asBuffer(encoder.encode({ cmd: 'publish', topic: 't', payload, qos: 1, messageId: 2 }))
  assert.is.not(a, b)
  assert.ok(b.equals(reference({ cmd: 'publish', topic: 't', payload, qos: 1, messageId: 2 })))
  assert.ok(a.equals(reference({ cmd: 'publish', topic: 't', payload, qos: 1, messageId: 1 })))
})

test('leaves string payloads, Buffer topics, missing packet ids and other packets to mqtt-packet', () => {
  const encoder = new PublishEncoder()
  assert.is(encoder.encode({ cmd: 'publish', topic: 't', payload: 'text', qos: 0 }), undefined)
  assert.is(encoder.encode({ cmd: 'publish', topic: Buffer.from('t'), payload: Buffer.from('x'), qos: 0 }), undefined)
  assert.is(encoder.encode({ cmd: 'publish', topic: 't', payload: Buffer.from('x'), qos: 1 }), undefined)
  assert.is(encoder.encode({ cmd: 'puback' }), undefined)
  assert.is(encoder.encode({ cmd: 'suback' }), undefined)
})

test('installed on mqtt-packet, a real socket receives packets the parser reads back, v3.1.1 and v5 alike', async () => {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as { port: number }).port
  const accepted = once(server, 'connection') as Promise<[Socket]>
  const client = connect(port, '127.0.0.1')
  await once(client, 'connect')
  const [peer] = await accepted
  try {
    const encoder = installPublishEncoder(mqttPacket as unknown as Parameters<typeof installPublishEncoder>[0])
    assert.is(installPublishEncoder(mqttPacket as unknown as Parameters<typeof installPublishEncoder>[0]), encoder, 'installing twice keeps one encoder')
    const received: mqttPacket.Packet[] = []
    const parser4 = mqttPacket.parser({ protocolVersion: 4 })
    parser4.on('packet', (p) => received.push(p))
    const payload = Buffer.alloc(300, 7)
    const sent = [
      { cmd: 'publish', topic: 'a/b', payload, qos: 0, retain: false, dup: false },
      { cmd: 'publish', topic: 'a/b', payload, qos: 0, retain: false, dup: false },
      { cmd: 'publish', topic: 'a/c', payload: Buffer.alloc(40_000, 1), qos: 1, messageId: 9, retain: true, dup: false },
      { cmd: 'puback', messageId: 77 },
      { cmd: 'pingresp' }
    ]
    for (const p of sent) mqttPacket.writeToStream(p as mqttPacket.Packet, client, { protocolVersion: 4 })
    const until = Date.now() + 5_000
    peer.on('data', (chunk: Buffer) => parser4.parse(chunk))
    while (received.length < sent.length && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 10))
    assert.is(received.length, sent.length)
    assert.equal(received.map((p) => p.cmd), ['publish', 'publish', 'publish', 'puback', 'pingresp'])
    const big = received[2] as mqttPacket.IPublishPacket
    assert.is(big.messageId, 9)
    assert.is(big.retain, true)
    assert.is((big.payload as Buffer).length, 40_000)
    assert.ok(encoder.sharedHits >= 1)
    // MQTT 5 goes through mqtt-packet itself (properties)
    const v5 = mqttPacket.generate({ cmd: 'publish', topic: 'x', payload: Buffer.from('y'), qos: 0, retain: false, dup: false, properties: { contentType: 'text/plain' } } as mqttPacket.Packet, { protocolVersion: 5 })
    const chunks: Buffer[] = []
    const collector = { write: (c: Buffer | string) => { chunks.push(Buffer.from(c)); return true } }
    mqttPacket.writeToStream({ cmd: 'publish', topic: 'x', payload: Buffer.from('y'), qos: 0, retain: false, dup: false, properties: { contentType: 'text/plain' } } as mqttPacket.Packet, collector as never, { protocolVersion: 5 })
    assert.ok(Buffer.concat(chunks).equals(v5))
  } finally {
    client.destroy()
    peer.destroy()
    await new Promise((resolve) => server.close(resolve))
  }
})

test.run()
