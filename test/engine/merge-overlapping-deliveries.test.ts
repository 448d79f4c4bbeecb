// Canary for src/engine/merge-overlapping-deliveries.ts: the pinned aedes still
// registers one emitter function per subscription that calls the client's
// deliver0/deliverQoS as they were when it subscribed, keeps {qos, nl, si} in
// client.subscriptions, and stamps each message with brokerId/brokerCounter.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { REPO_ROOT } from '../helpers/broker-process.ts'
import { mergeMatches } from '../../src/engine/merge-overlapping-deliveries.ts'

const aedesDir = join(REPO_ROOT, 'node_modules/aedes')

test('aedes delivers per subscription through client.deliverQoS / deliver0 read at subscribe time', () => {
  const subscribe = readFileSync(join(aedesDir, 'lib/handlers/subscribe.js'), 'utf8')
  assert.match(subscribe, /let func = qos > 0 \? client\.deliverQoS : client\.deliver0/)
  assert.match(subscribe, /client\.subscriptions\[topic\] = new Subscription\(qos, func, rh, rap, nl, si\)/)
  assert.match(subscribe, /this\.qos = qos[\s\S]*this\.si = si[\s\S]*this\.nl = nl/)
  // retained messages on SUBSCRIBE are marked as not to be deduplicated
  assert.match(subscribe, /newPacket\.brokerId = null\s+client\.deliverQoS\(newPacket, cb\)/)
  const packet = readFileSync(join(REPO_ROOT, 'node_modules/aedes-packet/packet.js'), 'utf8')
  assert.match(packet, /this\.brokerCounter = original\.brokerCounter \|\| \(broker \? \(\+\+broker\.counter\) : 0\)/)
})

test('mergeMatches: highest granted QoS capped by the publish QoS, every identifier, No Local over all matches', () => {
  const subs = { 'a/#': { qos: 2, si: 1 }, 'a/+': { qos: 1, si: 2 }, 'b/#': { qos: 2, si: 3 } }
  assert.equal(mergeMatches(subs, 'a/x', 2, false), { qos: 2, identifiers: [1, 2] })
  assert.equal(mergeMatches(subs, 'a/x', 1, false), { qos: 1, identifiers: [1, 2] })
  assert.equal(mergeMatches(subs, 'a/x/y', 2, false), { qos: 2, identifiers: [1] })
  assert.is(mergeMatches(subs, 'c', 2, false), undefined)
  const nl = { 'a/#': { qos: 2, nl: true }, 'a/+': { qos: 0 } }
  assert.equal(mergeMatches(nl, 'a/x', 2, true), { qos: 0, identifiers: [] })
  assert.equal(mergeMatches(nl, 'a/x/y', 2, true), { qos: -1, identifiers: [] })
})

test.run()
