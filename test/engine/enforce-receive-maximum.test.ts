// Canary for src/engine/enforce-receive-maximum.ts: the pinned aedes still
// advertises broker.receiveMaximum without counting against it, still writes
// its acknowledgements through mqtt-packet's writeToStream looked up at each
// write, to client.conn, and still parses with client._parser 'packet' events.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { REPO_ROOT } from '../helpers/broker-process.ts'
import { InboundWindow } from '../../src/engine/enforce-receive-maximum.ts'

const aedes = (file: string): string => readFileSync(join(REPO_ROOT, 'node_modules/aedes', file), 'utf8')

test('aedes writes acks with mqtt.writeToStream(packet, client.conn, ...) and parses with client._parser', () => {
  assert.match(aedes('lib/write.js'), /import mqtt from 'mqtt-packet'/)
  assert.match(aedes('lib/write.js'), /mqtt\.writeToStream\(packet, client\.conn, /)
  assert.match(aedes('lib/client.js'), /this\._parser\.on\('packet', enqueue\)|_parser\.on\('packet'/)
})

test('aedes advertises receiveMaximum and nothing in its publish handling counts against it', () => {
  assert.match(aedes('lib/handlers/connect.js'), /properties\.receiveMaximum = broker\.receiveMaximum/)
  assert.not.match(aedes('lib/handlers/publish.js'), /receiveMaximum|RECEIVE_MAXIMUM/, 'aedes now enforces it: the override may be unneeded')
})

test('InboundWindow: a new id past the max is refused, a resend of an outstanding id is not, an ended flow frees its slot', () => {
  const w = new InboundWindow(2)
  assert.ok(w.received(1)); assert.ok(w.received(2))
  assert.ok(w.received(1), 'a resend')
  assert.not.ok(w.received(3))
  w.ended(1)
  assert.ok(w.received(3))
})

test.run()
