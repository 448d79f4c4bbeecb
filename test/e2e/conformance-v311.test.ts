// MQTT 3.1.1 (and 3.1) conformance on real sockets, written from the normative
// statements of the OASIS standard; each test names its clause. Raw packets
// (mqtt-packet over net) where the bytes matter, MQTT.js for whole flows.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import mqtt from 'mqtt'
import { startBrokerInProcess, type InProcessBroker } from '../helpers/broker-process.ts'
import { RawMqtt, type AnyPacket } from '../helpers/raw-mqtt.ts'

const test = suite<{ b: InProcessBroker }>('mqtt 3.1.1 conformance')
const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))
let n = 0
const id = (name: string): string => `${name}-${process.pid}-${++n}`

test.before(async (ctx) => {
  ctx.b = await startBrokerInProcess('listeners:\n  - { name: tcp, type: tcp, port: 0 }\nsys: { interval: 1s }\n')
})
test.after(async (ctx) => { await ctx.b.stop() })

const sub = async (port: number, filter: string, qos = 1, connect: Record<string, unknown> = {}): Promise<RawMqtt> => {
  const { c } = await RawMqtt.connected(port, 4, connect)
  c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: filter, qos }] })
  await c.next('suback')
  return c
}

test('[MQTT-3.1.0-1] a PUBLISH before CONNECT closes the connection', async ({ b }) => {
  const c = await RawMqtt.open(b.port, 4)
  c.send({ cmd: 'publish', topic: 'a', payload: 'x', qos: 0 })
  await c.closedByBroker()
  assert.is(c.received.length, 0)
})

test('[MQTT-3.1.0-2] a second CONNECT is a protocol violation and closes the connection', async ({ b }) => {
  const { c, connack } = await RawMqtt.connected(b.port, 4)
  assert.is(connack.returnCode, 0)
  c.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 60, clientId: id('again') })
  await c.closedByBroker()
})

test('[MQTT-3.1.2-2] an unsupported protocol level gets return code 0x01 and a close', async ({ b }) => {
  const c = await RawMqtt.open(b.port, 4)
  // CONNECT, protocol name MQTT, level 6, clean, keepalive 60, client id "x"
  c.write('100d00044d5154540602003c000178')
  const connack = await c.next('connack').catch(() => undefined)
  if (connack !== undefined) assert.is(connack.returnCode, 1)
  await c.closedByBroker()
})

test('[MQTT-3.1.2-3] a CONNECT with the reserved flag set closes the connection', async ({ b }) => {
  const c = await RawMqtt.open(b.port, 4)
  c.write('100d00044d5154540403003c000178')
  await c.closedByBroker()
  assert.not.ok(c.received.some((p) => p.cmd === 'connack' && p.returnCode === 0))
})

test('[MQTT-3.1.3-8] an empty client id with CleanSession=0 gets 0x02 identifier rejected', async ({ b }) => {
  const c = await RawMqtt.open(b.port, 4)
  c.write('100c00044d5154540400003c0000') // clean=0, client id "": mqtt-packet refuses to generate it
  assert.is((await c.next('connack')).returnCode, 2)
  await c.closedByBroker()
})

test('[MQTT-3.1.3-6] an empty client id with CleanSession=1 is accepted', async ({ b }) => {
  const { c, connack } = await RawMqtt.connected(b.port, 4, { clientId: '', clean: true })
  assert.is(connack.returnCode, 0)
  await c.disconnect()
})

test('[MQTT-3.1.4-2] a second connection with the same client id takes over the first', async ({ b }) => {
  const cid = id('takeover')
  const { c: first } = await RawMqtt.connected(b.port, 4, { clientId: cid })
  const { c: second, connack } = await RawMqtt.connected(b.port, 4, { clientId: cid })
  assert.is(connack.returnCode, 0)
  await first.closedByBroker()
  second.send({ cmd: 'pingreq' })
  await second.next('pingresp')
  await second.disconnect()
})

test('[MQTT-3.2.2-1] [MQTT-3.2.2-2] session present is 0 for a clean session and 1 for a resumed one', async ({ b }) => {
  const cid = id('session')
  const first = await sub(b.port, 'sp/t', 1, { clientId: cid, clean: false })
  await first.disconnect()
  const { c, connack } = await RawMqtt.connected(b.port, 4, { clientId: cid, clean: false })
  assert.is(connack.sessionPresent, true)
  await c.disconnect()
  const { c: clean, connack: cleanAck } = await RawMqtt.connected(b.port, 4, { clientId: cid, clean: true })
  assert.is(cleanAck.sessionPresent, false)
  await clean.disconnect()
  // [MQTT-3.1.2-6] the clean session threw the old one away
  const { c: again, connack: againAck } = await RawMqtt.connected(b.port, 4, { clientId: cid, clean: false })
  assert.is(againAck.sessionPresent, false)
  await again.disconnect()
})

test('[MQTT-3.3.4-1] [MQTT-4.3.2-2] QoS 1: PUBACK carries the packet id and the message is delivered at QoS 1', async ({ b }) => {
  const s = await sub(b.port, 'q1/t', 1)
  const { c: p } = await RawMqtt.connected(b.port, 4)
  p.send({ cmd: 'publish', topic: 'q1/t', payload: 'one', qos: 1, messageId: 4321 })
  assert.is((await p.next('puback')).messageId, 4321)
  const got = await s.next('publish')
  assert.is(got.qos, 1)
  assert.is(got.payload.toString(), 'one')
  s.send({ cmd: 'puback', messageId: got.messageId })
  await p.disconnect(); await s.disconnect()
})

test('[MQTT-4.3.3-2] QoS 2: PUBREC, PUBREL, PUBCOMP, and a re-sent PUBLISH with DUP is delivered once', async ({ b }) => {
  const s = await sub(b.port, 'q2/t', 2)
  const { c: p } = await RawMqtt.connected(b.port, 4)
  p.send({ cmd: 'publish', topic: 'q2/t', payload: 'two', qos: 2, messageId: 7 })
  assert.is((await p.next('pubrec')).messageId, 7)
  p.send({ cmd: 'publish', topic: 'q2/t', payload: 'two', qos: 2, messageId: 7, dup: true })
  assert.is((await p.next('pubrec')).messageId, 7)
  p.send({ cmd: 'pubrel', messageId: 7 })
  assert.is((await p.next('pubcomp')).messageId, 7)
  const got = await s.next('publish')
  assert.is(got.qos, 2)
  s.send({ cmd: 'pubrec', messageId: got.messageId })
  assert.is((await s.next('pubrel')).messageId, got.messageId) // [MQTT-4.3.3-1]
  s.send({ cmd: 'pubcomp', messageId: got.messageId })
  assert.ok(await s.nothing('publish', 300), 'the duplicate was delivered twice')
  await p.disconnect(); await s.disconnect()
})

test('[MQTT-4.4.0-1] [MQTT-3.3.1-1] an unacknowledged QoS 1 message is re-sent with DUP=1 on reconnect', async ({ b }) => {
  const cid = id('dup')
  const s = await sub(b.port, 'dup/t', 1, { clientId: cid, clean: false })
  const { c: p } = await RawMqtt.connected(b.port, 4)
  p.send({ cmd: 'publish', topic: 'dup/t', payload: 'again', qos: 1, messageId: 1 })
  await p.next('puback')
  const first = await s.next('publish')
  assert.is(first.dup, false)
  s.destroy() // no PUBACK
  await sleep(100)
  const { c: back, connack } = await RawMqtt.connected(b.port, 4, { clientId: cid, clean: false })
  assert.is(connack.sessionPresent, true)
  const again = await back.next('publish')
  assert.is(again.payload.toString(), 'again')
  assert.is(again.dup, true)
  assert.is(again.messageId, first.messageId)
  back.send({ cmd: 'puback', messageId: again.messageId })
  await back.disconnect(); await p.disconnect()
})

test('[MQTT-3.8.4-6] delivery is downgraded to the subscription QoS', async ({ b }) => {
  const s = await sub(b.port, 'down/t', 0)
  const { c: p } = await RawMqtt.connected(b.port, 4)
  p.send({ cmd: 'publish', topic: 'down/t', payload: 'x', qos: 2, messageId: 2 })
  await p.next('pubrec')
  p.send({ cmd: 'pubrel', messageId: 2 })
  await p.next('pubcomp')
  assert.is((await s.next('publish')).qos, 0)
  await p.disconnect(); await s.disconnect()
})

test('[MQTT-3.8.4-6] [MQTT-3.3.5-1] a wildcard subscription caps the QoS too, for live and retained messages (shim)', async ({ b }) => {
  const { c: p } = await RawMqtt.connected(b.port, 4)
  p.send({ cmd: 'publish', topic: 'capw/r', payload: 'kept', qos: 2, messageId: 1, retain: true })
  await p.next('pubrec'); p.send({ cmd: 'pubrel', messageId: 1 }); await p.next('pubcomp')
  const s = await sub(b.port, 'capw/#', 1)
  const retained = await s.next('publish')
  assert.is(retained.qos, 1)
  s.send({ cmd: 'puback', messageId: retained.messageId })
  p.send({ cmd: 'publish', topic: 'capw/live', payload: 'x', qos: 2, messageId: 2 })
  await p.next('pubrec'); p.send({ cmd: 'pubrel', messageId: 2 }); await p.next('pubcomp')
  const live = await s.next('publish')
  assert.is(live.qos, 1)
  s.send({ cmd: 'puback', messageId: live.messageId })
  p.send({ cmd: 'publish', topic: 'capw/r', payload: '', qos: 0, retain: true })
  await p.disconnect(); await s.disconnect()
})

test('[MQTT-3.3.1-5] [MQTT-3.3.1-8] [MQTT-3.3.1-9] a retained message reaches new subscribers with RETAIN=1, live ones with RETAIN=0', async ({ b }) => {
  const live = await sub(b.port, 'ret/a', 0)
  const { c: p } = await RawMqtt.connected(b.port, 4)
  p.send({ cmd: 'publish', topic: 'ret/a', payload: 'v1', qos: 1, messageId: 1, retain: true })
  await p.next('puback')
  assert.is((await live.next('publish')).retain, false)
  const late = await sub(b.port, 'ret/+', 0)
  const got = await late.next('publish')
  assert.is(got.retain, true)
  assert.is(got.payload.toString(), 'v1')
  await live.disconnect(); await late.disconnect(); await p.disconnect()
})

test('[MQTT-3.3.1-5] [MQTT-3.3.1-10] [MQTT-3.3.1-11] a retained message is replaced, and cleared by an empty payload', async ({ b }) => {
  const { c: p } = await RawMqtt.connected(b.port, 4)
  p.send({ cmd: 'publish', topic: 'ret/r', payload: 'old', qos: 1, messageId: 1, retain: true })
  p.send({ cmd: 'publish', topic: 'ret/r', payload: 'new', qos: 1, messageId: 2, retain: true })
  await p.next('puback'); await p.next('puback')
  const s1 = await sub(b.port, 'ret/r', 0)
  assert.is((await s1.next('publish')).payload.toString(), 'new')
  assert.ok(await s1.nothing('publish', 200), 'the replaced value was delivered too')
  p.send({ cmd: 'publish', topic: 'ret/r', payload: Buffer.alloc(0), qos: 1, messageId: 3, retain: true })
  await p.next('puback')
  await s1.next('publish') // the empty live message itself is delivered normally
  const s2 = await sub(b.port, 'ret/r', 0)
  assert.ok(await s2.nothing('publish', 300), 'a cleared retained message was still delivered')
  await s1.disconnect(); await s2.disconnect(); await p.disconnect()
})

test('[MQTT-3.1.2-8] the will is published when the connection drops without DISCONNECT', async ({ b }) => {
  const s = await sub(b.port, 'will/a', 0)
  const { c } = await RawMqtt.connected(b.port, 4, { will: { topic: 'will/a', payload: Buffer.from('gone'), qos: 0, retain: false } })
  c.destroy()
  assert.is((await s.next('publish')).payload.toString(), 'gone')
  await s.disconnect()
})

test('[MQTT-3.1.2-10] [MQTT-3.14.4-3] the will is discarded after a DISCONNECT', async ({ b }) => {
  const s = await sub(b.port, 'will/b', 0)
  const { c } = await RawMqtt.connected(b.port, 4, { will: { topic: 'will/b', payload: Buffer.from('gone'), qos: 0, retain: false } })
  await c.disconnect()
  assert.ok(await s.nothing('publish', 400), 'the will was published after a clean DISCONNECT')
  await s.disconnect()
})

test('[MQTT-3.1.2-17] a will with WillRetain=1 is stored as a retained message', async ({ b }) => {
  const { c } = await RawMqtt.connected(b.port, 4, { will: { topic: 'will/ret', payload: Buffer.from('last'), qos: 1, retain: true } })
  c.destroy()
  await sleep(200)
  const s = await sub(b.port, 'will/ret', 1)
  const got = await s.next('publish')
  assert.is(got.payload.toString(), 'last')
  assert.is(got.retain, true)
  await s.disconnect()
})

test('[MQTT-3.1.2-24] a client silent for 1.5x its keepalive is disconnected (and its will published)', async ({ b }) => {
  const s = await sub(b.port, 'will/ka', 0)
  const { c } = await RawMqtt.connected(b.port, 4, { keepalive: 1, will: { topic: 'will/ka', payload: Buffer.from('timeout'), qos: 0, retain: false } })
  const t0 = Date.now()
  await c.closedByBroker(4000)
  const waited = Date.now() - t0
  assert.ok(waited >= 1000 && waited < 3500, `closed after ${waited} ms, expected about 1500`)
  assert.is((await s.next('publish')).payload.toString(), 'timeout')
  await s.disconnect()
})

test('[MQTT-3.12.4-1] PINGREQ is answered with PINGRESP and keeps the connection alive', async ({ b }) => {
  const { c } = await RawMqtt.connected(b.port, 4, { keepalive: 1 })
  for (let i = 0; i < 4; i++) {
    await sleep(500)
    c.send({ cmd: 'pingreq' })
    await c.next('pingresp')
  }
  assert.not.ok(c.closed)
  await c.disconnect()
})

test('[MQTT-3.10.4-4] [MQTT-3.10.4-5] UNSUBSCRIBE is acknowledged and stops delivery', async ({ b }) => {
  const s = await sub(b.port, 'uns/t', 0)
  s.send({ cmd: 'unsubscribe', messageId: 9, unsubscriptions: ['uns/t'] })
  assert.is((await s.next('unsuback')).messageId, 9)
  const { c: p } = await RawMqtt.connected(b.port, 4)
  p.send({ cmd: 'publish', topic: 'uns/t', payload: 'x', qos: 0 })
  assert.ok(await s.nothing('publish', 300))
  await s.disconnect(); await p.disconnect()
})

test('[MQTT-3.8.4-5] SUBACK has one return code per filter, in order, with the granted QoS', async ({ b }) => {
  const { c } = await RawMqtt.connected(b.port, 4)
  c.send({ cmd: 'subscribe', messageId: 3, subscriptions: [{ topic: 'a/+', qos: 2 }, { topic: 'b/#', qos: 0 }, { topic: 'c', qos: 1 }] })
  const ack = await c.next('suback')
  assert.is(ack.messageId, 3)
  assert.equal(ack.granted, [2, 0, 1])
  await c.disconnect()
})

test('[MQTT-4.7.2-1] # and + at the first level do not match $ topics; $SYS/broker/ carries counts and no client id', async ({ b }) => {
  const cid = id('secret-client-name')
  const { c: named } = await RawMqtt.connected(b.port, 4, { clientId: cid })
  const all = await sub(b.port, '#', 0)
  const sys = await sub(b.port, '$SYS/#', 0)
  await sleep(2300) // two $SYS intervals
  const sysTopics = sys.received.filter((p) => p.cmd === 'publish') as AnyPacket[]
  assert.ok(sysTopics.some((p) => p.topic === '$SYS/broker/clients/connected'), `no $SYS/broker/clients/connected in ${sysTopics.map((p) => p.topic).join(', ')}`)
  assert.ok(sysTopics.some((p) => p.topic === '$SYS/broker/uptime'))
  assert.ok(sysTopics.some((p) => /heartbeat$/.test(p.topic)), 'no heartbeat')
  for (const p of sysTopics) {
    assert.not.ok(p.topic.includes(cid) || p.payload.toString().includes(cid), `a client id leaked in ${p.topic}`)
  }
  const leaked = all.received.filter((p) => p.cmd === 'publish' && p.topic.startsWith('$')).map((p) => `${p.topic} retain=${p.retain}`)
  assert.equal(leaked, [], '# matched a $ topic')
  await named.disconnect(); await all.disconnect(); await sys.disconnect()
})

test('[MQTT-3.1.2-1] MQTT 3.1 (MQIsdp, level 3) clients connect, subscribe and publish', async ({ b }) => {
  const { c: s, connack } = await RawMqtt.connected(b.port, 3)
  assert.is(connack.returnCode, 0)
  s.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'v31/t', qos: 1 }] })
  await s.next('suback')
  const { c: p } = await RawMqtt.connected(b.port, 3)
  p.send({ cmd: 'publish', topic: 'v31/t', payload: 'old-protocol', qos: 1, messageId: 5 })
  await p.next('puback')
  assert.is((await s.next('publish')).payload.toString(), 'old-protocol')
  await s.disconnect(); await p.disconnect()
})

test('MQTT.js (protocolVersion 4) flows: QoS 0/1/2 all arrive in order', async ({ b }) => {
  const subscriber = await mqtt.connectAsync({ host: '127.0.0.1', port: b.port, protocolVersion: 4, clientId: id('mqttjs-sub') })
  const publisher = await mqtt.connectAsync({ host: '127.0.0.1', port: b.port, protocolVersion: 4, clientId: id('mqttjs-pub') })
  try {
    const got: string[] = []
    subscriber.on('message', (_t, payload) => got.push(payload.toString()))
    await subscriber.subscribeAsync('js/t', { qos: 2 })
    for (const qos of [0, 1, 2] as const) await publisher.publishAsync('js/t', `q${qos}`, { qos })
    for (let i = 0; i < 50 && got.length < 3; i++) await sleep(20)
    assert.equal(got, ['q0', 'q1', 'q2'])
  } finally {
    await subscriber.endAsync(); await publisher.endAsync()
  }
})

test.run()
