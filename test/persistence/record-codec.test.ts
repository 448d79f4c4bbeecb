import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { crc32, crc32Portable } from '../../src/persistence/crc32.ts'
import {
  decodeOutgoingState, decodePacket, decodeSubscription, encodeOutgoingState, encodePacket, encodeSubscription, isRoutablePublish, RecordCorruptError
} from '../../src/persistence/record-codec.ts'

test('round-trips a queued QoS 1 packet with the exact same keys, undefined ones included', () => {
  const p = { cmd: 'publish', brokerId: 'b-1', brokerCounter: 42, topic: 'site/3/temp', payload: Buffer.from('21.5'), qos: 1, retain: false, dup: false, messageId: undefined }
  const d = decodePacket(encodePacket(p))
  assert.equal(Object.keys(d).sort(), Object.keys(p).sort())
  assert.equal({ ...d, payload: Buffer.from(d.payload as Buffer) }, p)
})

test('keeps a string payload a string and a Buffer payload a Buffer', () => {
  assert.is(decodePacket(encodePacket({ topic: 't', payload: 'world' })).payload, 'world')
  assert.ok(Buffer.isBuffer(decodePacket(encodePacket({ topic: 't', payload: Buffer.from('x') })).payload))
  assert.ok(Buffer.isBuffer(decodePacket(encodePacket({ topic: 't', payload: new Uint8Array([1, 2]) })).payload))
})

test('keeps MQTT 5 properties (with Buffers), message expiry and unknown fields', () => {
  const p = {
    cmd: 'publish', topic: 'a', payload: Buffer.alloc(0), qos: 2, messageExpiry: 1_700_000_000_123, nl: true, clientId: 'c',
    properties: { correlationData: Buffer.from([0, 255, 7]), userProperties: { a: 'b' }, messageExpiryInterval: 30 },
    id: 'broker-42'
  }
  const d = decodePacket(encodePacket(p)) as typeof p
  assert.equal(d.properties.correlationData, Buffer.from([0, 255, 7]))
  assert.equal(d.properties.userProperties, { a: 'b' })
  assert.is(d.messageExpiry, 1_700_000_000_123)
  assert.is(d.id, 'broker-42')
  assert.is(d.nl, true)
  assert.is(d.clientId, 'c')
})

test('drops the wire length and functions (aedes writeCallback) from a record', () => {
  const d = decodePacket(encodePacket({ topic: 't', payload: Buffer.from('x'), length: 14, writeCallback: () => {} }))
  assert.not.ok('length' in d)
  assert.not.ok('writeCallback' in d)
})

test('a pubrel record is only its command and packet id', () => {
  assert.equal(decodePacket(encodePacket({ cmd: 'pubrel', messageId: 42 })), { cmd: 'pubrel', messageId: 42 })
})

test('a flipped bit anywhere in a record is detected', () => {
  const rec = encodePacket({ cmd: 'publish', topic: 'a/b', payload: Buffer.from('hello world'), qos: 1, brokerCounter: 3 })
  for (let i = 0; i < rec.length; i++) {
    const bad = Buffer.from(rec)
    bad[i] ^= 0x10
    assert.throws(() => decodePacket(bad), (e: Error) => e instanceof RecordCorruptError, `byte ${i}`)
  }
})

test('a truncated record is detected', () => {
  const rec = encodePacket({ topic: 'a/b', payload: Buffer.from('hello'), qos: 1 })
  for (const n of [0, 1, 5, 9, rec.length - 1]) {
    assert.throws(() => decodePacket(rec.subarray(0, n)), (e: Error) => e instanceof RecordCorruptError, `length ${n}`)
  }
})

test('subscriptions round-trip, with and without optional fields', () => {
  const full = { qos: 2, rh: 1, rap: true, nl: false, subscriptionIdentifier: 99 }
  assert.equal(decodeSubscription(encodeSubscription(full)), full)
  assert.equal(decodeSubscription(encodeSubscription({ qos: 0, rh: undefined, rap: undefined, nl: undefined })), { qos: 0, rh: undefined, rap: undefined, nl: undefined })
  const bad = encodeSubscription(full); bad[5] = 1
  assert.throws(() => decodeSubscription(bad), (e: Error) => e instanceof RecordCorruptError)
})

test('outgoing state records round-trip and are checksummed', () => {
  assert.equal(decodeOutgoingState(encodeOutgoingState({ pubrel: true, messageId: 65535 })), { pubrel: true, messageId: 65535 })
  const bad = encodeOutgoingState({ pubrel: false, messageId: 7 }); bad[9] ^= 1
  assert.throws(() => decodeOutgoingState(bad), (e: Error) => e instanceof RecordCorruptError)
})

test('publishes aedes would choke on are not routable (aedes #780)', () => {
  assert.not.ok(isRoutablePublish({ cmd: 'publish', payload: Buffer.alloc(1) }))
  assert.not.ok(isRoutablePublish({ cmd: 'publish', topic: '', payload: Buffer.alloc(1) }))
  assert.not.ok(isRoutablePublish({ cmd: 'publish', topic: 'a/#', payload: Buffer.alloc(1) }))
  assert.not.ok(isRoutablePublish({ cmd: 'publish', topic: null }))
  assert.ok(isRoutablePublish({ cmd: 'publish', topic: 'a/b', payload: Buffer.alloc(1), qos: 1 }))
  assert.ok(isRoutablePublish({ cmd: 'pubrel', messageId: 1 }))
})

test('property: any strings (UTF-8 of 1 to 4 bytes a character) and payloads round-trip, a string over 65,535 bytes too (it goes to the JSON section)', () => {
  const text = fc.string({ unit: 'binary', maxLength: 40 })
  fc.assert(fc.property(text, text, fc.option(text, { nil: undefined }), fc.oneof(fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)), text), fc.integer({ min: 0, max: 2 }), (brokerId, topic, clientId, payload, qos) => {
    const packet = { cmd: 'publish', brokerId, brokerCounter: 7, topic, qos, retain: false, dup: false, messageId: 9, clientId, payload }
    assert.equal(decodePacket(encodePacket(packet)), packet)
  }))
  const long = { cmd: 'publish', topic: 'é'.repeat(32768), qos: 0, payload: Buffer.alloc(0) }
  assert.equal(decodePacket(encodePacket(long)), long)
})

test('the portable CRC-32 agrees with zlib', () => {
  for (const s of ['', 'a', '123456789', 'x'.repeat(1000)]) assert.is(crc32Portable(Buffer.from(s)), crc32(Buffer.from(s)))
  assert.is(crc32Portable(Buffer.from('123456789')), 0xcbf43926)
})

test.run()
