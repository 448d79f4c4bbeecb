import { test } from 'uvu'
import * as assert from 'uvu/assert'
import mqttPacket from 'mqtt-packet'
import { FixedHeaderScanner } from '../../src/core/fixed-header-scanner.ts'

const publish = (size: number): Buffer => mqttPacket.generate({ cmd: 'publish', topic: 't', payload: Buffer.alloc(size), qos: 0, retain: false, dup: false } as mqttPacket.IPublishPacket)

test('packets under the limit pass, even split into single bytes', () => {
  const s = new FixedHeaderScanner(1000)
  const stream = Buffer.concat([publish(10), publish(500), publish(900)])
  for (const b of stream) assert.is(s.feed(Uint8Array.of(b)), undefined)
})

test('an oversized packet is refused from its fixed header, before its body arrives', () => {
  const s = new FixedHeaderScanner(1000)
  const big = publish(5000)
  assert.equal(s.feed(big.subarray(0, 3)), { kind: 'oversize', size: big.length, limit: 1000, offset: 0 })
})

test('the problem says where the oversized packet starts in the chunk', () => {
  const s = new FixedHeaderScanner(1000)
  const small = publish(10)
  const chunk = Buffer.concat([small, publish(5000).subarray(0, 4)])
  assert.is(s.feed(chunk)?.offset, small.length)
})

test('a 200 MB announcement is refused from its 5 header bytes', () => {
  const s = new FixedHeaderScanner(256 * 1024)
  // 0x30 PUBLISH, remaining length 200 MiB as a variable byte integer
  let n = 200 * 1024 * 1024
  const len: number[] = []
  do { let b = n % 128; n = Math.floor(n / 128); if (n > 0) b |= 0x80; len.push(b) } while (n > 0)
  const r = s.feed(Uint8Array.from([0x30, ...len]))
  assert.is(r?.kind, 'oversize')
})

test('the limit is read at each packet (a live reload applies to the next packet)', () => {
  let limit = 1000
  const s = new FixedHeaderScanner(() => limit)
  assert.is(s.feed(publish(500)), undefined)
  limit = 100
  assert.is(s.feed(publish(500))?.kind, 'oversize')
})

test('a remaining length of more than four bytes is malformed [MQTT-2.2.3]', () => {
  const s = new FixedHeaderScanner(1 << 28)
  assert.equal(s.feed(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01])), { kind: 'malformed', offset: 0 })
})

test.run()
