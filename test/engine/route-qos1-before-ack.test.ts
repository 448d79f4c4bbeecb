// Canary for src/engine/route-qos1-before-ack.ts: the pinned aedes still
// handles a parsed packet the way the override replaces for QoS 1 (the
// parser's enqueue → handle → handlePublish → runSeries(authorizePublish,
// enqueuePublish), PUBACK before routing), still keeps the client and broker
// members the override reads, and the override on a plain pinned aedes
// routes a QoS 1 message before the PUBACK its accept function holds.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { installRouteQos1BeforeAck, type AckWait } from '../../src/engine/route-qos1-before-ack.ts'
import { RawMqtt } from '../helpers/raw-mqtt.ts'
import { packageDir, startPinnedAedes } from './pinned-aedes.ts'

const aedesDir = packageDir('aedes')
const source = (file: string): string => readFileSync(join(aedesDir, file), 'utf8')

test('aedes: the parser\'s packet listener counts the read (_parsingBatch) and hands connected packets to handle with _nextBatch', () => {
  const client = source('lib/client.js')
  assert.match(client, /this\._parser\.on\('packet', enqueue\)/)
  assert.match(client, /client\._parsingBatch\+\+\s*\n\s*\/\/[^\n]*\n\s*if \(client\.connackSent \|\| client\._parsingBatch === 1\) \{\s*handle\(client, packet, client\._nextBatch\)/)
  assert.match(client, /this\._topicAliases = new Map\(\)/)
  assert.match(client, /waitForDrain \(callback\)/)
})

test('aedes: handle() checks the packet size and the connection, sends PUBLISH to handlePublish and refreshes the keepalive timer', () => {
  const index = source('lib/handlers/index.js')
  assert.match(index, /const maximumPacketSize = client\.broker\.maximumPacketSize/)
  assert.match(index, /if \(!client\.connecting && !client\.connected\)/)
  assert.match(index, /case 'publish':\s*handlePublish\(client, packet, done\)/)
  assert.match(index, /if \(client\._keepaliveInterval > 0\) \{\s*client\._keepaliveTimer\.refresh\(\)/)
})

test('aedes: a QoS 1 PUBLISH is authorized, then acknowledged, then routed from the write callback', () => {
  const publish = source('lib/handlers/publish.js')
  assert.match(publish, /const publishActions = \[\s*authorizePublish,\s*enqueuePublish\s*\]/)
  assert.match(publish, /case 1:\s*write\(client, new PubAck\(packet\), function \(err\) \{\s*if \(err\) \{ return done\(err\) \}\s*client\.broker\.publish\(packet, client, done\)/)
  // the checks isPlain mirrors, and the v5 refusal refuse() mirrors
  assert.match(publish, /topic\.indexOf\('#'\) > -1/)
  assert.match(publish, /topicLevelCount\(topic\) > client\.broker\.maxTopicLevels/)
  assert.match(publish, /responseTopic\.indexOf\('#'\) > -1 \|\| responseTopic\.indexOf\('\+'\) > -1/)
  assert.match(publish, /packet\._notAuthorized = true\s*client\.broker\.emit\('clientError', client, err\)/)
  assert.match(publish, /client\._topicAliases\.set\(alias, packet\.topic\)/)
  assert.match(publish, /const max = client\.broker\.topicAliasMaximum/)
  const utils = source('lib/utils.js')
  assert.match(utils, /client\._requestProblemInformation === false/)
  const write = source('lib/write.js')
  assert.match(write, /mqtt\.writeToStream\(packet, client\.conn, WRITE_OPTS\[version\]\)/)
  assert.match(write, /client\.waitForDrain\(done\)/)
})

test('aedes: Aedes#publish copies the packet with aedes-packet and runs retained store, offline queue (QoS > 0 only, awaited), emitter, published hook', () => {
  const aedes = source('aedes.js')
  assert.match(aedes, /const p = new Packet\(packet, this\)/)
  assert.match(aedes, /if \(p\.properties\?\.messageExpiryInterval > 0 && p\.messageExpiry === undefined\) \{\s*p\.messageExpiry = Date\.now\(\) \+ \(p\.properties\.messageExpiryInterval \* 1000\)/)
  assert.match(aedes, /const publishFuncsSimple = \[\s*storeRetained,\s*emitPacket,\s*callPublished\s*\]/)
  assert.match(aedes, /const publishFuncsQoS = \[\s*storeRetained,\s*enqueueOffline,\s*emitPacket,\s*callPublished\s*\]/)
  assert.match(aedes, /function emitPacket \(packet, done\) \{\s*if \(this\.client\) packet\.clientId = this\.client\.id\s*this\.broker\.mq\.emit\(packet, done\)/)
  assert.match(aedes, /function callPublished \(_, done\) \{\s*this\.broker\.published\(this\.packet, this\.client, done\)\s*this\.broker\.emit\('publish', this\.packet, this\.client\)/)
  assert.match(aedes, /this\.broker\.persistence\.subscriptionsByTopic\(packet\.topic\)/)
  // the offline step the override runs itself: $SYS copies filtered (left to aedes), the enqueue awaited before the emitter
  assert.match(aedes, /if \(that\.topic\.indexOf\(\$SYS_PREFIX\) === 0\) \{\s*subs = subs\.filter\(removeSharp\)/)
  assert.match(aedes, /broker\.persistence\.outgoingEnqueueCombi\(subs, packet\)\s*\.then\(\(\) => complete\(null\), complete\)/)
  const packet = readFileSync(join(packageDir('aedes-packet', join(aedesDir, 'aedes.js')), 'packet.js'), 'utf8')
  for (const field of ['clientId', 'nl', 'properties', 'messageExpiry']) assert.match(packet, new RegExp(`hasOwnProperty\\.call\\(original, '${field}'\\)\\) this\\.${field} = original\\.${field}`))
  assert.match(packet, /this\.brokerCounter = original\.brokerCounter \|\| \(broker \? \(\+\+broker\.counter\) : 0\)/)
  assert.match(packet, /if \(this\.qos > 0 \|\| this\.cmd !== 'publish'\) \{[^}]*this\.messageId = undefined/)
})

test('on the pinned aedes: the message is routed while the PUBACK waits, and the PUBACK comes once it may', async () => {
  let release!: () => void
  const landed = new Promise<void>((resolve) => { release = resolve })
  const broker = await startPinnedAedes()
  let accepted = 0
  installRouteQos1BeforeAck(broker.aedes, {
    accept: (_client, packet, decided) => {
      accepted++
      const wait: AckWait | undefined = packet.qos === 1 ? { queued: undefined, landed } : undefined
      decided(null, wait)
    }
  })
  const sub = (await RawMqtt.connected(broker.port, 4, { clientId: 'canary-sub' })).c
  const pub = (await RawMqtt.connected(broker.port, 4, { clientId: 'canary-pub' })).c
  try {
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'canary/#', qos: 1 }] })
    await sub.next('suback')
    pub.send({ cmd: 'publish', topic: 'canary/a', payload: Buffer.from('m'), qos: 1, messageId: 9, retain: false, dup: false })
    const got = await sub.next('publish', 5000)
    assert.is(got.topic, 'canary/a')
    assert.is(accepted, 1, 'the override, not aedes\'s handler, took it')
    pub.send({ cmd: 'publish', topic: 'canary/b', payload: Buffer.from('q0'), qos: 0, retain: false, dup: false })
    const got0 = await sub.next('publish', 5000)
    assert.equal([got0.topic, got0.qos], ['canary/b', 0])
    assert.is(accepted, 2, 'QoS 0 too')
    assert.ok(await pub.nothing('puback', 200))
    release()
    assert.is((await pub.next('puback', 5000)).messageId, 9)
  } finally {
    release()
    await pub.disconnect()
    await sub.disconnect()
    await broker.close()
  }
})

test.run()
