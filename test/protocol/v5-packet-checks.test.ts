// v5 property checks made before aedes sees a packet, and outgoing PUBLISH sizes.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import mqttPacket from 'mqtt-packet'
import { checkConnectProperties, reasonCodeOfProblem, checkPacketProperties, checkPacketStrings, publishWireSize } from '../../src/protocol/v5-packet-checks.ts'

const parse = (hex: string): Record<string, any> & { cmd: string } => {
  const p = mqttPacket.parser({ protocolVersion: 5 })
  let out: any
  p.on('packet', (x) => { out = x })
  p.on('error', (e) => { throw e })
  p.parse(Buffer.from(hex, 'hex'))
  return out
}

test('finds a Response Topic without its string (the aedes crash vector) [MQTT-1.5.4]', () => {
  // PUBLISH qos 0, topic "a", properties length 1 holding only 0x08, payload 0x00
  const packet = parse('3006000161010800')
  assert.is(packet.properties.responseTopic, null)
  assert.match(checkPacketProperties(packet) ?? '', /responseTopic/)
})

test('accepts well-formed properties and packets without any', () => {
  assert.is(checkPacketProperties({ cmd: 'publish', properties: { responseTopic: 'r', correlationData: Buffer.from('x'), userProperties: { a: 'b', c: ['d', 'e'] } } }), undefined)
  assert.is(checkPacketProperties({ cmd: 'pingreq' }), undefined)
})

test('refuses binary properties that are not buffers and malformed user properties', () => {
  assert.match(checkPacketProperties({ cmd: 'publish', properties: { correlationData: null } }) ?? '', /correlationData/)
  assert.match(checkPacketProperties({ cmd: 'publish', properties: { userProperties: { a: [null] } } }) ?? '', /user property/)
})

test('checks the will properties of a CONNECT (through checkConnectProperties: CONNECT problems get a CONNACK)', () => {
  assert.match(checkConnectProperties({ cmd: 'connect', will: { properties: { contentType: null } } }) ?? '', /will.*contentType/)
  assert.is(checkPacketProperties({ cmd: 'connect', will: { properties: { contentType: null } } }), undefined)
})

test('a property given twice is a protocol error; only User Property may repeat [MQTT-2.2.2.2]', () => {
  const twice = checkConnectProperties({ cmd: 'connect', properties: { sessionExpiryInterval: [60, 61] } }) ?? ''
  assert.match(twice, /sessionExpiryInterval appears more than once/)
  assert.is(reasonCodeOfProblem(twice), 0x82)
  assert.is(checkPacketProperties({ cmd: 'publish', properties: { userProperties: { a: ['1', '2'] } } }), undefined)
})

test('an identifier the packet may not carry is malformed (0x81); a forbidden value is a protocol error (0x82)', () => {
  const wrong = checkPacketProperties({ cmd: 'publish', properties: { sessionExpiryInterval: 5 } }) ?? ''
  assert.match(wrong, /sessionExpiryInterval is not valid in PUBLISH/)
  assert.is(reasonCodeOfProblem(wrong), 0x81)
  const zero = checkPacketProperties({ cmd: 'subscribe', properties: { subscriptionIdentifier: 0 } }) ?? ''
  assert.is(reasonCodeOfProblem(zero), 0x82)
  assert.match(checkPacketProperties({ cmd: 'publish', properties: { subscriptionIdentifier: 3 } }) ?? '', /\[MQTT-3.3.4-6\]/)
  assert.match(checkPacketProperties({ cmd: 'puback', properties: { reasonString: 'a\u0000' } }) ?? '', /U\+0000/)
  assert.is(checkPacketProperties({ cmd: 'puback', properties: { reasonString: 'fine' } }), undefined)
})

test('packet id 0 on QoS 1, an UNSUBSCRIBE without filters and a misplaced wildcard are malformed', () => {
  assert.match(checkPacketStrings({ cmd: 'publish', topic: 'a', qos: 1, messageId: 0 }) ?? '', /MQTT-2.3.1-1/)
  assert.match(checkPacketStrings({ cmd: 'unsubscribe', unsubscriptions: [] }) ?? '', /MQTT-3.10.3-2/)
  assert.match(checkPacketStrings({ cmd: 'subscribe', subscriptions: [{ topic: 'a/#/b' }] }) ?? '', /MQTT-4.7.1-1/)
  assert.match(checkPacketStrings({ cmd: 'subscribe', subscriptions: [{ topic: 'a/b+' }] }) ?? '', /MQTT-4.7.1-1/)
  assert.is(checkPacketStrings({ cmd: 'subscribe', subscriptions: [{ topic: '$share/g/a/+/#' }] }), undefined)
})

test('finds U+0000 and ill-formed UTF-8 (U+FFFD after decoding) in topics and filters [MQTT-1.5.4-1] [MQTT-1.5.4-2]', () => {
  assert.ok(checkPacketStrings({ cmd: 'publish', topic: 'a\u0000' }))
  assert.ok(checkPacketStrings({ cmd: 'publish', topic: Buffer.from([0x61, 0xff]).toString('utf8') }))
  assert.ok(checkPacketStrings({ cmd: 'subscribe', subscriptions: [{ topic: 'ok' }, { topic: '\u0000' }] }))
  assert.ok(checkPacketStrings({ cmd: 'unsubscribe', unsubscriptions: ['\ufffd'] }))
  assert.is(checkPacketStrings({ cmd: 'publish', topic: 'sensors/ü/temp' }), undefined)
  assert.is(checkPacketStrings({ cmd: 'pingreq' }), undefined)
})

test('publishWireSize equals the generated packet length', () => {
  const p = { topic: 'abc', payload: Buffer.alloc(100), qos: 1, properties: { subscriptionIdentifier: 7 } }
  const bytes = mqttPacket.generate({ cmd: 'publish', ...p, messageId: 1, retain: false, dup: false } as any, { protocolVersion: 5 })
  assert.is(publishWireSize(p, 5), bytes.length)
  assert.is(publishWireSize({ topic: 'abc', payload: Buffer.alloc(100), qos: 0 }, 4), 2 + 2 + 3 + 100)
})

test.run()
