// Canary for src/engine/order-retained-on-subscribe.ts: the pinned aedes still
// emits 'subscribe' and asks for the retained stream in one synchronous run
// after the subscription is in the emitter, still builds the retained copy
// the override now builds (RETAIN 1, brokerId null, expiry, Subscription
// Identifier, through client.deliverQoS), still stores a retained message
// before routing it, still writes a persistent session's live QoS > 0
// message after an asynchronous outgoingUpdate but a retained copy at once,
// and mqemitter still matches every message (emitted or queued) in _do and
// hands it to its _parallel, which calls the subscriptions synchronously. On a plain pinned aedes the
// override sends the retained copy and then the live messages.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { installOrderRetainedOnSubscribe } from '../../src/engine/order-retained-on-subscribe.ts'
import { RawMqtt } from '../helpers/raw-mqtt.ts'
import { packageDir, startPinnedAedes } from './pinned-aedes.ts'

const aedesDir = packageDir('aedes')
const source = (file: string): string => readFileSync(join(aedesDir, file), 'utf8')

test('aedes: completeSubscribe writes the SUBACK, emits subscribe, then asks for the retained stream, in one synchronous run', () => {
  const subscribe = source('lib/handlers/subscribe.js')
  const complete = subscribe.slice(subscribe.indexOf('function completeSubscribe ()'))
  assert.ok(complete.length > 0, 'completeSubscribe is gone')
  const emitAt = complete.indexOf("broker.emit('subscribe', subs, client)")
  const streamAt = complete.indexOf('persistence.createRetainedStreamCombi(topics)')
  assert.ok(emitAt > 0 && streamAt > emitAt, 'subscribe is emitted before the retained stream is asked for')
  assert.not.match(complete.slice(emitAt, streamAt), /await |\.then\(|setImmediate|nextTick/)
  // the subscription is in the emitter before completeSubscribe runs
  assert.match(subscribe, /broker\.subscribe\(topic, func, done\)/)
  assert.match(subscribe, /runParallel\(state, doSubscribe, packet\.subscriptions, \(err\) => \{[\s\S]*completeSubscribe\.call\(state\)/)
  // every subscription of the packet carries the SUBSCRIBE's identifier
  assert.match(subscribe, /for \(const sub of packet\.subscriptions\) \{\s*sub\.subscriptionIdentifier = subscriptionIdentifier/)
})

test('aedes: the retained copy (expiry removal, RETAIN 1, properties, identifier, brokerId null, client.deliverQoS)', () => {
  const subscribe = source('lib/handlers/subscribe.js')
  assert.match(subscribe, /const retainedSI = this\.packet\.properties\?\.subscriptionIdentifier/)
  assert.match(subscribe, /const remainingMs = packet\.messageExpiry - now\s*if \(remainingMs <= 0\) \{\s*persistence\.storeRetained\(\{ topic: packet\.topic, payload: Buffer\.alloc\(0\) \}\)/)
  assert.match(subscribe, /new Packet\(\{\s*cmd: packet\.cmd,\s*qos: packet\.qos,\s*topic: packet\.topic,\s*payload: packet\.payload,\s*retain: true\s*\}, broker\)/)
  assert.match(subscribe, /newPacket\.properties = \{ \.\.\.packet\.properties \}/)
  assert.match(subscribe, /newPacket\.properties\.messageExpiryInterval = Math\.ceil\(\(packet\.messageExpiry - now\) \/ 1000\)/)
  assert.match(subscribe, /newPacket\.properties\.subscriptionIdentifier = retainedSI/)
  assert.match(subscribe, /newPacket\.brokerId = null\s*client\.deliverQoS\(newPacket, cb\)/)
})

test('aedes: a retained message is stored before it is routed; a persistent live QoS > 0 delivery waits for outgoingUpdate, a retained copy does not', () => {
  const aedes = source('aedes.js')
  assert.match(aedes, /const publishFuncsSimple = \[\s*storeRetained,\s*emitPacket,/)
  assert.match(aedes, /const publishFuncsQoS = \[\s*storeRetained,\s*enqueueOffline,\s*emitPacket,/)
  assert.match(aedes, /this\.broker\.mq\.emit\(packet, done\)/)
  const client = source('lib/client.js')
  assert.match(client, /if \(that\.clean \|\| packet\.retain\) \{\s*doWriteQoS\(\)\s*\} else \{\s*broker\.persistence\.outgoingUpdate\(that, packet\)/)
  assert.match(client, /if \(_packet\.qos === 0\) \{\s*that\.deliver0\(_packet, cb\)/)
})

test('mqemitter: emit and the released queue both go through _do, which hands the message to _parallel (the subscriptions, synchronously)', () => {
  const mq = readFileSync(join(packageDir('mqemitter', join(aedesDir, 'aedes.js')), 'mqemitter.js'), 'utf8')
  assert.match(mq, /that\._do\(message, callback\)/)
  assert.match(mq, /\} else \{\s*this\._do\(message, cb\)/)
  assert.match(mq, /MQEmitter\.prototype\._do = function \(message, callback\) \{[\s\S]*this\._parallel\(this, matches, message, callback\)/)
  assert.match(mq, /this\._parallel = fastparallel\(\{\s*results: false,\s*released\s*\}\)/)
})

test('on a plain pinned aedes: the retained copy comes (RETAIN 1), then the live messages, in order', async () => {
  const { aedes, port, close } = await startPinnedAedes()
  try {
    installOrderRetainedOnSubscribe(aedes)
    const { c: p } = await RawMqtt.connected(port, 4)
    p.send({ cmd: 'publish', topic: 'canary/t', payload: '1', qos: 1, messageId: 1, retain: true })
    await p.next('puback')
    const { c: s } = await RawMqtt.connected(port, 4)
    s.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'canary/t', qos: 1 }] })
    for (let i = 2; i <= 20; i++) p.send({ cmd: 'publish', topic: 'canary/t', payload: String(i), qos: 1, messageId: i, retain: true })
    await s.next('suback')
    const seen: string[] = []
    for (;;) {
      const m = await s.next('publish')
      s.send({ cmd: 'puback', messageId: m.messageId })
      seen.push(`${m.payload.toString() as string}${m.retain === true ? 'R' : ''}`)
      if (m.payload.toString() === '20') break
    }
    const numbers = seen.map((x) => parseInt(x, 10))
    assert.equal(numbers, [...numbers].sort((a, b) => a - b), `in order: ${seen.join(',')}`)
    assert.is(seen.filter((x) => x.endsWith('R')).length, 1, `one retained copy: ${seen.join(',')}`)
    await p.disconnect(); await s.disconnect()
  } finally {
    await close()
  }
})

test.run()
