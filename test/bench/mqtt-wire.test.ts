// The load generator's hand-written wire code, checked against mqtt-packet.
// (part of `npm test`; alone: node test/run.mjs test/bench/mqtt-wire.test.ts)
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import mqttPacket from 'mqtt-packet'
import { FrameReader, PACKET, encodePublish, publishLayout, writePuback } from './mqtt-wire.ts'

function parseAll (bytes: Buffer): mqttPacket.Packet[] {
  const parser = mqttPacket.parser({ protocolVersion: 4 })
  const out: mqttPacket.Packet[] = []
  parser.on('packet', (p) => out.push(p))
  parser.on('error', (e) => { throw e })
  parser.parse(bytes)
  return out
}

test('encodePublish produces a PUBLISH mqtt-packet parses, with the id and payload where it says', () => {
  const payload = Buffer.from('x'.repeat(200))
  const { bytes, packetIdOffset, payloadOffset } = encodePublish('bench/flow/7', payload, 1, 4242)
  const [packet] = parseAll(bytes) as mqttPacket.IPublishPacket[]
  assert.is(packet.cmd, 'publish')
  assert.is(packet.topic, 'bench/flow/7')
  assert.is(packet.qos, 1)
  assert.is(packet.messageId, 4242)
  assert.equal(packet.payload, payload)
  assert.is(bytes.readUInt16BE(packetIdOffset), 4242)
  assert.equal(bytes.subarray(payloadOffset), payload)
})

test('a QoS 0 PUBLISH has no packet id', () => {
  const { bytes, packetIdOffset } = encodePublish('t', Buffer.from('abc'), 0)
  const [packet] = parseAll(bytes) as mqttPacket.IPublishPacket[]
  assert.is(packet.qos, 0)
  assert.is(packetIdOffset, -1)
  assert.equal(packet.payload, Buffer.from('abc'))
})

test('writePuback writes PUBACKs mqtt-packet reads back', () => {
  const out = Buffer.alloc(8)
  writePuback(out, writePuback(out, 0, 1), 65_535)
  assert.equal(parseAll(out).map((p) => [p.cmd, p.messageId]), [['puback', 1], ['puback', 65_535]])
})

test('FrameReader reassembles packets split at every byte boundary, lengths of 1 to 3 digits', () => {
  const packets = [
    encodePublish('a', Buffer.alloc(3), 0).bytes,
    encodePublish('bench/x', Buffer.alloc(300), 1, 9).bytes, // 2-digit remaining length
    encodePublish('big', Buffer.alloc(20_000), 1, 10).bytes, // 3 digits
    Buffer.from([0x40, 0x02, 0x00, 0x05])
  ]
  const stream = Buffer.concat(packets)
  for (const step of [1, 2, 3, 7, 1000, stream.length]) {
    const reader = new FrameReader()
    const seen: Array<[number, number]> = []
    for (let i = 0; i < stream.length; i += step) {
      reader.feed(stream.subarray(i, i + step), (type, flags, buf, start, end) => {
        if (type === PACKET.PUBLISH) seen.push([type, publishLayout(buf, flags, start).packetId])
        else seen.push([type, buf.readUInt16BE(start)])
        assert.ok(end <= buf.length)
      })
    }
    assert.equal(seen, [[3, 0], [3, 9], [3, 10], [4, 5]], `chunks of ${step} bytes`)
  }
})

test('FrameReader rejects a remaining length of more than 4 digits [MQTT-2.2.3]', () => {
  const reader = new FrameReader()
  assert.throws(() => reader.feed(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]), () => {}), /more than 4 digits/)
})

test.run()
