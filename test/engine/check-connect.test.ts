// Canary for src/engine/check-connect.ts and src/protocol/connect-checks.ts:
// the pinned mqtt-packet still lets through what the checks catch, and still
// names an unsupported protocol level "Invalid protocol version".
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import mqttPacket from 'mqtt-packet'
import { checkConnectPacket } from '../../src/protocol/connect-checks.ts'
import fc from 'fast-check'
import { countedRemainingLength, encodedRemainingLength } from '../../src/engine/check-connect.ts'

const str = (s: string): string => Buffer.from([0, s.length]).toString('hex') + Buffer.from(s).toString('hex')
const connect = (level: number, flags: number, payload: string): string => {
  const body = str('MQTT') + level.toString(16).padStart(2, '0') + flags.toString(16).padStart(2, '0') + '003c' + payload
  return '10' + (body.length / 2).toString(16).padStart(2, '0') + body
}
const parse = (hex: string): { packet?: Record<string, any> & { cmd: string }, error?: string } => {
  const parser = mqttPacket.parser({ protocolVersion: 4 })
  const out: { packet?: Record<string, any> & { cmd: string }, error?: string } = {}
  parser.on('packet', (p) => { out.packet = p as unknown as Record<string, any> & { cmd: string } })
  parser.on('error', (e) => { out.error = e.message })
  parser.parse(Buffer.from(hex, 'hex'))
  return out
}

test('mqtt-packet still parses will QoS 3, a 3.1.1 password without user name, and a user name without its flag', () => {
  const will3 = parse(connect(4, 0x1e, str('a') + str('t') + str('m'))).packet
  assert.is(will3?.will?.qos, 3)
  const pw = parse(connect(4, 0x42, str('a') + str('p'))).packet
  assert.ok(pw?.password !== undefined && pw.username === undefined)
  const extra = parse(connect(4, 0x02, str('a') + str('u'))).packet
  assert.is(extra?.username, undefined, 'mqtt-packet now reads an unflagged user name')
  assert.is(extra?.length, 16)
})

test('mqtt-packet still fails an unsupported protocol level with "Invalid protocol version"', () => {
  assert.match(parse(connect(6, 0x02, str('a'))).error ?? '', /protocol version/i)
})

test('checkConnectPacket finds each problem and passes a plain CONNECT', () => {
  assert.is(checkConnectPacket(parse(connect(4, 0x1e, str('a') + str('t') + str('m'))).packet!)?.reasonCode, 0x81)
  assert.is(checkConnectPacket(parse(connect(4, 0x42, str('a') + str('p'))).packet!)?.reasonCode, 0x81)
  const extra = parse(connect(4, 0x02, str('a') + str('u'))).packet!
  assert.match(checkConnectPacket(extra, encodedRemainingLength(mqttPacket as never, extra))?.reason ?? '', /3 bytes after/)
  const full = parse(connect(4, 0xc2, str('a') + str('u') + str('p'))).packet!
  assert.is(encodedRemainingLength(mqttPacket as never, full), full.length)
  assert.is(checkConnectPacket(full, encodedRemainingLength(mqttPacket as never, full)), undefined)
  assert.is(checkConnectPacket({ cmd: 'connect', protocolVersion: 5, properties: { maximumPacketSize: 0 } })?.reasonCode, 0x82)
})

// The Remaining Length mqtt-packet's own encoder gives a CONNECT (undefined when it refuses one).
function generatedRemainingLength (packet: Record<string, any>): number | undefined {
  let bytes: Buffer
  try { bytes = mqttPacket.generate(packet as never, { protocolVersion: packet.protocolVersion }) } catch { return undefined }
  let length = 0
  let multiplier = 1
  for (let i = 1; i < Math.min(bytes.length, 5); i++) {
    length += (bytes[i] & 0x7f) * multiplier
    if ((bytes[i] & 0x80) === 0) return length
    multiplier *= 128
  }
  return undefined
}

test('a 3.1/3.1.1 CONNECT\'s Remaining Length is counted as mqtt-packet encodes it (random CONNECTs, refused ones included)', () => {
  const text = fc.oneof(fc.constant(''), fc.string({ maxLength: 12 }), fc.string({ unit: 'grapheme', maxLength: 6 }))
  const maybe = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(a, { nil: undefined })
  const connectArb = fc.record({
    cmd: fc.constant('connect'),
    protocolId: fc.constantFrom('MQTT', 'MQIsdp', '', undefined),
    protocolVersion: fc.constantFrom(3, 4),
    clean: fc.oneof(fc.boolean(), fc.constant(undefined)),
    keepalive: fc.oneof(fc.integer({ min: 0, max: 65_535 }), fc.constantFrom(-1, 70_000, 1.5, undefined)),
    clientId: maybe(text),
    username: maybe(text),
    password: maybe(fc.uint8Array({ maxLength: 10 }).map((a) => Buffer.from(a))),
    will: maybe(fc.record({ topic: text, payload: fc.oneof(fc.uint8Array({ maxLength: 10 }).map((a) => Buffer.from(a)), text), qos: fc.constantFrom(0, 1, 2), retain: fc.boolean() }))
  }, { requiredKeys: ['cmd', 'protocolVersion'] })
  fc.assert(fc.property(connectArb, (packet) => {
    assert.is(countedRemainingLength(packet), generatedRemainingLength(packet), JSON.stringify(packet))
  }), { numRuns: 3000 })
})

test.run()
