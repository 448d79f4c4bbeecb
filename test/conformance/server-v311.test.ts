// MQTT 3.1.1 server-side normative statements that no other test checked,
// each on raw packets against edgemq at its default options (one loopback
// listener). The statement ids are in the test names; docs/conformance.md
// maps every statement to its test.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { startBrokerInProcess, type InProcessBroker } from '../helpers/broker-process.ts'
import { RawMqtt } from '../helpers/raw-mqtt.ts'

const test = suite<{ b: InProcessBroker }>('mqtt 3.1.1 server statements')
const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))
let n = 0
const uid = (s: string): string => `s311-${s}-${process.pid}-${++n}`
const topic = (s: string): string => `s311/${process.pid}/${++n}/${s}`

test.before(async (ctx) => { ctx.b = await startBrokerInProcess() })
test.after(async (ctx) => { await ctx.b.stop() })

const subscriber = async (port: number, filter: string, qos = 1, connect: Record<string, unknown> = {}): Promise<RawMqtt> => {
  const { c } = await RawMqtt.connected(port, 4, connect)
  c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: filter, qos }] })
  await c.next('suback')
  return c
}
const publishes = (c: RawMqtt): Array<Record<string, any>> => c.received.filter((p) => p.cmd === 'publish')

test('[MQTT-3.1.2-7] a retained message outlives the session of the client that published it', async ({ b }) => {
  const t = topic('kept')
  const id = uid('pub')
  const { c: p } = await RawMqtt.connected(b.port, 4, { clientId: id, clean: true })
  p.send({ cmd: 'publish', topic: t, payload: 'stays', qos: 1, messageId: 1, retain: true })
  await p.next('puback')
  await p.disconnect() // clean session: the session ends here
  const s = await subscriber(b.port, t, 0)
  assert.is((await s.next('publish')).payload.toString(), 'stays')
  s.send({ cmd: 'publish', topic: t, payload: '', qos: 0, retain: true })
  await s.disconnect()
})

test('[MQTT-3.1.2-12] [MQTT-3.1.2-16] no will without the will flag; a will with Will Retain 0 is published non-retained', async ({ b }) => {
  const t = topic('w')
  const s = await subscriber(b.port, `${t}/#`, 0)
  const { c: none } = await RawMqtt.connected(b.port, 4)
  const { c: will } = await RawMqtt.connected(b.port, 4, { will: { topic: `${t}/gone`, payload: Buffer.from('w'), qos: 0, retain: false } })
  none.destroy(); will.destroy()
  const got = await s.next('publish')
  assert.equal([got.topic, got.retain], [`${t}/gone`, false])
  await sleep(300)
  assert.is(publishes(s).length, 0, 'something else was published')
  const late = await subscriber(b.port, `${t}/#`, 0)
  assert.ok(await late.nothing('publish', 300), 'a non-retained will was stored as retained')
  await s.disconnect(); await late.disconnect()
})

test('[MQTT-3.1.4-5] [MQTT-3.2.2-4] [MQTT-3.2.2-5] after a refused CONNECT nothing the client sent is processed; the CONNACK has Session Present 0 and the connection closes', async ({ b }) => {
  const t = topic('refused')
  const c = await RawMqtt.open(b.port, 4)
  // CONNECT with an empty client id and CleanSession 0 (refused with 0x02), then a retained PUBLISH in the same write.
  const publish = Buffer.concat([Buffer.from([0x31, 2 + t.length + 5, 0, t.length]), Buffer.from(t), Buffer.from('ghost')])
  c.write(Buffer.concat([Buffer.from('100c00044d5154540400003c0000', 'hex'), publish]))
  const connack = await c.next('connack')
  assert.equal([connack.returnCode, connack.sessionPresent], [2, false])
  await c.closedByBroker()
  const s = await subscriber(b.port, t, 0)
  assert.ok(await s.nothing('publish', 400), 'the PUBLISH after a refused CONNECT was processed')
  await s.disconnect()
})

test('[MQTT-3.2.2-3] CleanSession 0 without a stored session gets Session Present 0, and 1 on the next connect', async ({ b }) => {
  const id = uid('sp')
  const { c: first, connack: c1 } = await RawMqtt.connected(b.port, 4, { clientId: id, clean: false })
  assert.equal([c1.returnCode, c1.sessionPresent], [0, false])
  await first.disconnect()
  const { c: second, connack: c2 } = await RawMqtt.connected(b.port, 4, { clientId: id, clean: false })
  assert.equal([c2.returnCode, c2.sessionPresent], [0, true])
  await second.disconnect()
  const { c: cleanup } = await RawMqtt.connected(b.port, 4, { clientId: id, clean: true })
  await cleanup.disconnect()
})

test('[MQTT-3.3.1-2] [MQTT-4.3.1-1] [MQTT-3.3.1-3] QoS 0 goes out with DUP 0, and an inbound DUP 1 is not passed on', async ({ b }) => {
  const t = topic('dup')
  const s = await subscriber(b.port, t, 1)
  const { c: p } = await RawMqtt.connected(b.port, 4)
  p.send({ cmd: 'publish', topic: t, payload: 'q0', qos: 0 })
  const q0 = await s.next('publish')
  assert.equal([q0.qos, q0.dup], [0, false])
  p.send({ cmd: 'publish', topic: t, payload: 'q1', qos: 1, messageId: 9, dup: true })
  await p.next('puback')
  const q1 = await s.next('publish')
  assert.equal([q1.qos, q1.dup], [1, false], 'the DUP flag of the incoming PUBLISH was propagated')
  s.send({ cmd: 'puback', messageId: q1.messageId })
  await s.disconnect(); await p.disconnect()
})

test('[MQTT-3.3.1-7] a retained QoS 0 message replaces the earlier retained message of its topic', async ({ b }) => {
  const t = topic('r0')
  const { c: p } = await RawMqtt.connected(b.port, 4)
  p.send({ cmd: 'publish', topic: t, payload: 'old', qos: 1, messageId: 1, retain: true }); await p.next('puback')
  p.send({ cmd: 'publish', topic: t, payload: 'new', qos: 0, retain: true })
  await sleep(200)
  const s = await subscriber(b.port, t, 1)
  const got = await s.next('publish')
  assert.equal([got.payload.toString(), got.qos, got.retain], ['new', 0, true])
  assert.ok(await s.nothing('publish', 300), 'the old retained message is still there')
  p.send({ cmd: 'publish', topic: t, payload: '', qos: 0, retain: true })
  await s.disconnect(); await p.disconnect()
})

test('[MQTT-3.8.4-1] [MQTT-3.8.4-2] [MQTT-2.3.1-7] SUBACK and UNSUBACK carry the packet id of their request', async ({ b }) => {
  const { c } = await RawMqtt.connected(b.port, 4)
  c.send({ cmd: 'subscribe', messageId: 0x1234, subscriptions: [{ topic: topic('id'), qos: 1 }] })
  assert.is((await c.next('suback')).messageId, 0x1234)
  c.send({ cmd: 'unsubscribe', messageId: 0xfedc, unsubscriptions: ['x/y'] })
  assert.is((await c.next('unsuback')).messageId, 0xfedc)
  await c.disconnect()
})

test('[MQTT-2.3.1-6] PUBACK, PUBREC and PUBCOMP carry the packet id of the PUBLISH', async ({ b }) => {
  const { c } = await RawMqtt.connected(b.port, 4)
  c.send({ cmd: 'publish', topic: topic('ids'), payload: 'a', qos: 1, messageId: 0xabcd })
  assert.is((await c.next('puback')).messageId, 0xabcd)
  c.send({ cmd: 'publish', topic: topic('ids'), payload: 'b', qos: 2, messageId: 0x0102 })
  assert.is((await c.next('pubrec')).messageId, 0x0102)
  c.send({ cmd: 'pubrel', messageId: 0x0102 })
  assert.is((await c.next('pubcomp')).messageId, 0x0102)
  await c.disconnect()
})

test('[MQTT-3.10.1-1] an UNSUBSCRIBE with wrong fixed-header flags closes the connection', async ({ b }) => {
  const { c } = await RawMqtt.connected(b.port, 4)
  c.write('a00500010001' + '61') // 0xA0: flags 0000 instead of 0010
  await c.closedByBroker()
  assert.not.ok(c.received.some((p) => p.cmd === 'unsuback'))
})

test('[MQTT-3.10.4-1] [MQTT-3.10.4-6] UNSUBSCRIBE removes only a filter equal byte for byte; several filters get one UNSUBACK', async ({ b }) => {
  const t = topic('u')
  const { c } = await RawMqtt.connected(b.port, 4)
  c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: `${t}/+`, qos: 0 }, { topic: `${t}/a`, qos: 0 }] })
  await c.next('suback')
  // `${t}/#` matches `${t}/+` in effect but not byte for byte: nothing is removed by it.
  c.send({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: [`${t}/#`, `${t}/a`] })
  await c.next('unsuback')
  assert.ok(await c.nothing('unsuback', 200), 'more than one UNSUBACK for one UNSUBSCRIBE')
  const { c: p } = await RawMqtt.connected(b.port, 4)
  p.send({ cmd: 'publish', topic: `${t}/a`, payload: 'via-plus', qos: 0 })
  const got = await c.next('publish')
  assert.is(got.payload.toString(), 'via-plus')
  assert.ok(await c.nothing('publish', 300), 'the removed exact filter still delivers')
  await c.disconnect(); await p.disconnect()
})

test('[MQTT-3.14.1-1] a DISCONNECT with non-zero reserved bits closes the connection and does not count as a clean DISCONNECT', async ({ b }) => {
  const t = topic('dr')
  const s = await subscriber(b.port, t, 0)
  const { c } = await RawMqtt.connected(b.port, 4, { will: { topic: t, payload: Buffer.from('will'), qos: 0, retain: false } })
  c.write('e100')
  await c.closedByBroker()
  // A malformed DISCONNECT is not a DISCONNECT: the will still goes (3.1.1 §3.14.4 discards it only on a DISCONNECT).
  assert.is((await s.next('publish')).payload.toString(), 'will')
  await s.disconnect()
})

test('[MQTT-4.7.3-1] a zero-length topic name closes the connection; a zero-length filter is refused', async ({ b }) => {
  const { c } = await RawMqtt.connected(b.port, 4)
  c.write('300500007878' + '78') // PUBLISH QoS 0, topic "", payload "xxx"
  await c.closedByBroker()
  const { c: s } = await RawMqtt.connected(b.port, 4)
  s.write('820500010000' + '00') // SUBSCRIBE id 1, filter "", QoS 0
  const refused = await s.next('suback').then((a) => a.granted[0] === 0x80, () => s.closed)
  assert.ok(refused, 'an empty topic filter was granted')
  s.destroy()
})

test('[MQTT-4.7.3-4] topics are matched byte for byte: no Unicode normalisation', async ({ b }) => {
  const base = topic('u8')
  const composed = `${base}/caf\u00e9` // é as one code point
  const decomposed = `${base}/cafe\u0301` // e + combining acute
  const s = await subscriber(b.port, composed, 0)
  const { c: p } = await RawMqtt.connected(b.port, 4)
  p.send({ cmd: 'publish', topic: decomposed, payload: 'nfd', qos: 0 })
  p.send({ cmd: 'publish', topic: composed, payload: 'nfc', qos: 0 })
  const got = await s.next('publish')
  assert.is(got.payload.toString(), 'nfc')
  assert.ok(await s.nothing('publish', 300), 'a differently normalised topic matched')
  await s.disconnect(); await p.disconnect()
})

test('[MQTT-4.6.0-5] [MQTT-4.6.0-6] messages of one topic from one client reach the subscriber in the order sent, per QoS', async ({ b }) => {
  const t = topic('order')
  const s = await subscriber(b.port, t, 2)
  const { c: p } = await RawMqtt.connected(b.port, 4)
  // Odd numbers at QoS 2, even at QoS 1: the order is promised per topic and QoS (3.1.1 §4.6).
  for (let i = 1; i <= 10; i++) p.send({ cmd: 'publish', topic: t, payload: String(i), qos: (i % 2) + 1, messageId: i })
  const got: Array<{ qos: number, n: number }> = []
  for (let i = 1; i <= 10; i++) {
    const m = await s.next('publish')
    got.push({ qos: m.qos, n: Number(m.payload.toString()) })
    if (m.qos === 1) s.send({ cmd: 'puback', messageId: m.messageId })
    else { s.send({ cmd: 'pubrec', messageId: m.messageId }); await s.next('pubrel'); s.send({ cmd: 'pubcomp', messageId: m.messageId }) }
  }
  assert.equal(got.filter((m) => m.qos === 1).map((m) => m.n), [2, 4, 6, 8, 10])
  assert.equal(got.filter((m) => m.qos === 2).map((m) => m.n), [1, 3, 5, 7, 9])
  await s.disconnect(); await p.disconnect()
})

test('[MQTT-3.3.2-3] [MQTT-4.7.1-2] [MQTT-4.7.1-3] a wildcard subscriber gets the publisher\'s topic name, which matches its filter', async ({ b }) => {
  const t = topic('m')
  const s = await subscriber(b.port, `${t}/+/x/#`, 0)
  const { c: p } = await RawMqtt.connected(b.port, 4)
  for (const name of [`${t}/a/x`, `${t}/b/x/y/z`, `${t}/a/y`, `${t}/x`]) p.send({ cmd: 'publish', topic: name, payload: 'm', qos: 0 })
  await sleep(400)
  assert.equal(publishes(s).map((m) => m.topic), [`${t}/a/x`, `${t}/b/x/y/z`])
  await s.disconnect(); await p.disconnect()
})

test.run()
