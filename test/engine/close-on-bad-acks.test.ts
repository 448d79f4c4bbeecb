// Canary for src/engine/close-on-bad-acks.ts and src/protocol/ack-packet-checks.ts:
// the pinned mqtt-packet still parses what the checks look for (a short ack as
// packet id -1, any property in an ack, a repeated Reason String as an array),
// and the pinned aedes still handles acks without those checks.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import mqttPacket from 'mqtt-packet'
import { REPO_ROOT } from '../helpers/broker-process.ts'
import { checkAckPacket } from '../../src/protocol/ack-packet-checks.ts'
import { checkRequestPacket, isValidFilter } from '../../src/protocol/request-packet-checks.ts'

const parse = (hex: string, protocolVersion: 4 | 5): Record<string, any> & { cmd: string } => {
  const parser = mqttPacket.parser({ protocolVersion })
  let out: (Record<string, any> & { cmd: string }) | undefined
  parser.on('packet', (p) => { out = p as unknown as Record<string, any> & { cmd: string } })
  parser.parse(Buffer.from(hex, 'hex'))
  if (out === undefined) throw new Error(`mqtt-packet no longer parses ${hex}`)
  return out
}

test('mqtt-packet: a 1-byte PUBREL parses with packet id -1 and length 1; properties and repeats pass through', () => {
  const short = parse('620100', 4)
  assert.is(short.messageId, -1)
  assert.is(short.length, 1)
  assert.ok(Buffer.isBuffer(parse('4009000100051600026162', 5).properties.authenticationData))
  assert.ok(Array.isArray(parse('620b000100071f0001611f000162', 5).properties.reasonString))
})

test('aedes: acks go from client._parser to the handlers with no property or length check, and PUBCOMP is handled as PUBACK', () => {
  const aedes = (file: string): string => readFileSync(join(REPO_ROOT, 'node_modules/aedes', file), 'utf8')
  assert.match(aedes('lib/client.js'), /this\._parser\.on\('packet', enqueue\)/)
  assert.match(aedes('lib/handlers/index.js'), /case 'pubcomp':\s*case 'puback':/)
  assert.not.match(aedes('lib/handlers/puback.js') + aedes('lib/handlers/pubrel.js') + aedes('lib/handlers/pubrec.js'), /properties|messageId < 1|length/, 'aedes checks acks now: the override may be unneeded')
})

test('checkAckPacket: malformed, protocol errors and well-formed acks', () => {
  assert.is(checkAckPacket(parse('620100', 5), 5)?.reasonCode, 0x81)
  assert.is(checkAckPacket(parse('7003000100', 4), 4)?.reasonCode, 0x81)
  assert.is(checkAckPacket(parse('4006000100020b01', 5), 5)?.reasonCode, 0x81)
  assert.is(checkAckPacket(parse('620b000100071f0001611f000162', 5), 5)?.reasonCode, 0x82)
  assert.is(checkAckPacket(parse('40100001100c1f00026f6b26000161000162', 5), 5), undefined)
  assert.is(checkAckPacket(parse('40020001', 4), 4), undefined)
  assert.is(checkAckPacket({ cmd: 'publish' }, 4), undefined)
})

test('checkRequestPacket: packet id 0, empty SUBSCRIBE/UNSUBSCRIBE, a v5 malformed filter; share filters and good filters pass', () => {
  assert.is(checkRequestPacket({ cmd: 'publish', qos: 1, messageId: 0 }, 4)?.reasonCode, 0x81)
  assert.is(checkRequestPacket({ cmd: 'publish', qos: 0 }, 4), undefined)
  assert.is(checkRequestPacket({ cmd: 'unsubscribe', unsubscriptions: [] }, 4)?.reasonCode, 0x82)
  assert.is(checkRequestPacket({ cmd: 'subscribe', subscriptions: [] }, 5)?.reasonCode, 0x82)
  assert.is(checkRequestPacket({ cmd: 'subscribe', subscriptions: [{ topic: 'a/#/b' }] }, 5)?.reasonCode, 0x81)
  assert.is(checkRequestPacket({ cmd: 'subscribe', subscriptions: [{ topic: 'a/#/b' }] }, 4), undefined, '3.1.1 keeps the SUBACK 0x80 path')
  assert.is(checkRequestPacket({ cmd: 'subscribe', subscriptions: [{ topic: '$share/g/a' }, { topic: 'a/+/b' }] }, 5), undefined)
  for (const f of ['#', 'a/#', '+', '+/+/x', '/']) assert.ok(isValidFilter(f), f)
  for (const f of ['', 'a#', 'a/#/b', 'a+', '+a/b', '#/']) assert.not.ok(isValidFilter(f), f)
})

test.run()
