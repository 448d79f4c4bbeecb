// MQTT 5.0 server-side normative statements that no other test checked, each
// on raw packets against edgemq at its default options (one loopback
// listener). The statement ids are in the test names; docs/conformance.md
// maps every statement to its test.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { connect } from 'node:net'
import { startBrokerInProcess, startBrokerProcess, type InProcessBroker } from '../helpers/broker-process.ts'
import { RawMqtt } from '../helpers/raw-mqtt.ts'

const test = suite<{ b: InProcessBroker }>('mqtt 5.0 server statements')
const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))
let n = 0
const uid = (s: string): string => `s5-${s}-${process.pid}-${++n}`
const topic = (s: string): string => `s5/${process.pid}/${++n}/${s}`

test.before(async (ctx) => { ctx.b = await startBrokerInProcess() })
test.after(async (ctx) => { await ctx.b.stop() })

const subscriber = async (port: number, filter: string, qos = 1, connect: Record<string, unknown> = {}): Promise<RawMqtt> => {
  const { c } = await RawMqtt.connected(port, 5, connect)
  c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: filter, qos }] })
  const ack = await c.next('suback')
  assert.ok(ack.granted[0] < 0x80, `subscription refused: ${ack.granted[0]}`)
  return c
}

test('[MQTT-3.2.2-1] the CONNACK acknowledge flags have bits 7-1 clear', async ({ b }) => {
  const bytes = await new Promise<Buffer>((resolve, reject) => {
    const s = connect(b.port, '127.0.0.1', () => s.write(Buffer.from('100e00044d5154540502003c00000178', 'hex')))
    let got = Buffer.alloc(0)
    s.on('data', (d) => { got = Buffer.concat([got, d]); if (got.length >= 3) { s.destroy(); resolve(got) } })
    s.on('error', reject)
  })
  assert.is(bytes[0], 0x20)
  assert.is(bytes[2] & 0xfe, 0, `acknowledge flags 0x${bytes[2].toString(16)}`)
})

test('[MQTT-3.1.2-4] [MQTT-3.1.2-5] [MQTT-3.1.2-6] [MQTT-3.2.2-2] [MQTT-3.2.2-3] Clean Start 0 creates then resumes a session; Clean Start 1 discards it', async ({ b }) => {
  const id = uid('cs')
  const t = topic('cs')
  const { c: a, connack: c1 } = await RawMqtt.connected(b.port, 5, { clientId: id, clean: false, properties: { sessionExpiryInterval: 60 } })
  assert.equal([c1.reasonCode, c1.sessionPresent], [0, false])
  a.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: t, qos: 1 }] }); await a.next('suback')
  await a.disconnect()
  const { c: a2, connack: c2 } = await RawMqtt.connected(b.port, 5, { clientId: id, clean: false, properties: { sessionExpiryInterval: 60 } })
  assert.equal([c2.reasonCode, c2.sessionPresent], [0, true])
  await a2.disconnect()
  const { c: a3, connack: c3 } = await RawMqtt.connected(b.port, 5, { clientId: id, clean: true })
  assert.equal([c3.reasonCode, c3.sessionPresent], [0, false])
  const { c: p } = await RawMqtt.connected(b.port, 5)
  p.send({ cmd: 'publish', topic: t, payload: 'x', qos: 1, messageId: 1 }); await p.next('puback')
  assert.ok(await a3.nothing('publish', 300), 'the discarded session\'s subscription still delivers')
  await a3.disconnect(); await p.disconnect()
})

test('[MQTT-3.1.2-14] [MQTT-3.1.2-15] a v5 will is published retained only when Will Retain is 1', async ({ b }) => {
  const t = topic('wr')
  const s = await subscriber(b.port, `${t}/#`, 0)
  const { c: keep } = await RawMqtt.connected(b.port, 5, { will: { topic: `${t}/kept`, payload: Buffer.from('k'), qos: 0, retain: true } })
  const { c: plain } = await RawMqtt.connected(b.port, 5, { will: { topic: `${t}/plain`, payload: Buffer.from('p'), qos: 0, retain: false } })
  keep.destroy(); plain.destroy()
  await s.next('publish'); await s.next('publish')
  await sleep(200)
  const late = await subscriber(b.port, `${t}/#`, 0)
  const retained = await late.next('publish')
  assert.equal([retained.topic, retained.retain], [`${t}/kept`, true])
  assert.ok(await late.nothing('publish', 300), 'the Will Retain 0 will was retained too')
  late.send({ cmd: 'publish', topic: `${t}/kept`, payload: '', qos: 0, retain: true })
  await s.disconnect(); await late.disconnect()
})

test('[MQTT-3.1.2-22] [MQTT-3.2.2-22] a v5 client silent for 1.5 x its keepalive is disconnected (no Server Keep Alive sent)', async ({ b }) => {
  const { c, connack } = await RawMqtt.connected(b.port, 5, { keepalive: 1 })
  assert.is(connack.properties?.serverKeepAlive, undefined)
  const t0 = Date.now()
  await c.closedByBroker(6000)
  assert.ok(Date.now() - t0 >= 900, `closed after ${Date.now() - t0} ms, before one keepalive period`)
})

test('[MQTT-3.1.2-28] Request Response Information 0 (or absent) gets no Response Information', async ({ b }) => {
  for (const properties of [{ requestResponseInformation: false }, {}]) {
    const { c, connack } = await RawMqtt.connected(b.port, 5, { properties })
    assert.is(connack.properties?.responseInformation, undefined)
    await c.disconnect()
  }
})

test('[MQTT-3.1.2-29] with Request Problem Information 0 no Reason String or User Property comes on SUBACK, PUBACK or UNSUBACK', async ({ b }) => {
  const { c } = await RawMqtt.connected(b.port, 5, { properties: { requestProblemInformation: false } })
  c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: topic('rpi'), qos: 1 }] })
  const suback = await c.next('suback')
  c.send({ cmd: 'publish', topic: topic('nobody'), payload: 'x', qos: 1, messageId: 2 })
  const puback = await c.next('puback')
  c.send({ cmd: 'unsubscribe', messageId: 3, unsubscriptions: ['never/subscribed'] })
  const unsuback = await c.next('unsuback')
  for (const p of [suback, puback, unsuback]) {
    assert.is(p.properties?.reasonString, undefined, `${p.cmd} has a Reason String`)
    assert.is(p.properties?.userProperties, undefined, `${p.cmd} has User Properties`)
  }
  await c.disconnect()
})

test('[MQTT-2.2.1-4] [MQTT-4.3.2-1] [MQTT-4.3.3-1] messages in flight to one client have distinct non-zero packet ids', async ({ b }) => {
  const t = topic('ids')
  const s = await subscriber(b.port, t, 2)
  const { c: p } = await RawMqtt.connected(b.port, 5)
  for (let i = 1; i <= 6; i++) p.send({ cmd: 'publish', topic: t, payload: String(i), qos: i % 2 === 0 ? 2 : 1, messageId: i })
  const ids: number[] = []
  for (let i = 0; i < 6; i++) {
    const m = await s.next('publish')
    assert.is(m.dup, false, 'a first delivery has DUP 0 [MQTT-4.3.2-2] [MQTT-4.3.3-2]')
    ids.push(m.messageId as number) // none acknowledged yet: all in flight together
  }
  assert.ok(ids.every((id) => id > 0), `packet id 0 used: ${ids.join(',')}`)
  assert.is(new Set(ids).size, ids.length, `a packet id in use was reused: ${ids.join(',')}`)
  await s.disconnect(); await p.disconnect()
})

test('[MQTT-3.3.2-7] a Topic Alias registered on one connection is unknown on the next', async ({ b }) => {
  const id = uid('ta')
  const t = topic('ta')
  const { c: a } = await RawMqtt.connected(b.port, 5, { clientId: id, properties: { sessionExpiryInterval: 60 } })
  a.send({ cmd: 'publish', topic: t, payload: 'one', qos: 0, properties: { topicAlias: 1 } })
  await a.disconnect()
  const { c: again } = await RawMqtt.connected(b.port, 5, { clientId: id, clean: false, properties: { sessionExpiryInterval: 0 } })
  again.send({ cmd: 'publish', topic: '', payload: 'two', qos: 0, properties: { topicAlias: 1 } })
  const d = await again.next('disconnect')
  assert.ok([0x82, 0x94].includes(d.reasonCode), `reason 0x${d.reasonCode.toString(16)}`)
  await again.closedByBroker()
})

test('[MQTT-3.3.4-10] [MQTT-4.9.0-3] at the client\'s Receive Maximum the server still answers PINGREQ, SUBSCRIBE and UNSUBSCRIBE', async ({ b }) => {
  const t = topic('rm')
  const s = await subscriber(b.port, `${t}/#`, 1, { properties: { receiveMaximum: 1 } })
  const { c: p } = await RawMqtt.connected(b.port, 5)
  p.send({ cmd: 'publish', topic: `${t}/a`, payload: '1', qos: 1, messageId: 1 })
  p.send({ cmd: 'publish', topic: `${t}/a`, payload: '2', qos: 1, messageId: 2 })
  const first = await s.next('publish')
  assert.ok(await s.nothing('publish', 300), 'a second QoS 1 PUBLISH went past Receive Maximum 1')
  s.send({ cmd: 'pingreq' }); await s.next('pingresp')
  s.send({ cmd: 'subscribe', messageId: 5, subscriptions: [{ topic: `${t}/other`, qos: 0 }] }); await s.next('suback')
  s.send({ cmd: 'unsubscribe', messageId: 6, unsubscriptions: [`${t}/other`] }); await s.next('unsuback')
  s.send({ cmd: 'puback', messageId: first.messageId })
  assert.is((await s.next('publish')).payload.toString(), '2')
  await s.disconnect(); await p.disconnect()
})

test('[MQTT-3.4.2-1] [MQTT-3.5.2-1] [MQTT-3.7.2-1] the server\'s PUBACK, PUBREC and PUBCOMP use their own reason codes', async ({ b }) => {
  const { c } = await RawMqtt.connected(b.port, 5)
  c.send({ cmd: 'publish', topic: topic('rc'), payload: 'x', qos: 1, messageId: 1 })
  const puback = await c.next('puback')
  c.send({ cmd: 'publish', topic: topic('rc'), payload: 'y', qos: 2, messageId: 2 })
  const pubrec = await c.next('pubrec')
  c.send({ cmd: 'pubrel', messageId: 2 })
  const pubcomp = await c.next('pubcomp')
  const ACK_CODES = [0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99]
  assert.ok(ACK_CODES.includes(puback.reasonCode ?? 0), `PUBACK 0x${(puback.reasonCode ?? 0).toString(16)}`)
  assert.ok(ACK_CODES.includes(pubrec.reasonCode ?? 0), `PUBREC 0x${(pubrec.reasonCode ?? 0).toString(16)}`)
  assert.ok([0x00, 0x92].includes(pubcomp.reasonCode ?? 0), `PUBCOMP 0x${(pubcomp.reasonCode ?? 0).toString(16)}`)
  await c.disconnect()
})

test('[MQTT-3.14.2-2] [MQTT-3.14.4-1] [MQTT-3.14.4-2] a server DISCONNECT (session taken over) has no Session Expiry Interval, and nothing follows it', async ({ b }) => {
  const id = uid('dx')
  const { c: old } = await RawMqtt.connected(b.port, 5, { clientId: id })
  const { c: fresh } = await RawMqtt.connected(b.port, 5, { clientId: id })
  const d = await old.next('disconnect')
  assert.is(d.reasonCode, 0x8e)
  assert.is(d.properties?.sessionExpiryInterval, undefined)
  await old.closedByBroker()
  assert.is(old.received.length, 0, `packets after DISCONNECT: ${old.received.map((p) => p.cmd).join(',')}`)
  await fresh.disconnect()
})

test('[MQTT-3.14.0-1] a refused CONNECT gets a CONNACK, never a DISCONNECT', async ({ b }) => {
  const c = await RawMqtt.open(b.port, 5)
  c.write('101100044d5154540502003c03210000000178') // Receive Maximum 0: a protocol error
  await c.closedByBroker()
  assert.not.ok(c.received.some((p) => p.cmd === 'disconnect'), 'DISCONNECT before a successful CONNACK')
})

test('[MQTT-4.12.0-1] an Authentication Method edgemq does not support is refused with 0x8C or 0x87 and closed', async ({ b }) => {
  const c = await RawMqtt.open(b.port, 5)
  c.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clean: true, keepalive: 60, clientId: uid('am'), properties: { authenticationMethod: 'SCRAM-SHA-1' } })
  const connack = await c.next('connack')
  assert.ok([0x8c, 0x87].includes(connack.reasonCode), `CONNACK 0x${connack.reasonCode.toString(16)}`)
  await c.closedByBroker()
})

test('[MQTT-4.12.0-6] without an Authentication Method the server sends no AUTH and no method in CONNACK', async ({ b }) => {
  const { c, connack } = await RawMqtt.connected(b.port, 5)
  assert.is(connack.properties?.authenticationMethod, undefined)
  c.send({ cmd: 'pingreq' }); await c.next('pingresp')
  assert.not.ok(c.received.some((p) => p.cmd === 'auth'))
  await c.disconnect()
})

test('[MQTT-4.4.0-2] a delivery refused with PUBACK 0x80 is not sent again on reconnect', async ({ b }) => {
  const id = uid('nack')
  const t = topic('nack')
  const s = await subscriber(b.port, t, 1, { clientId: id, properties: { sessionExpiryInterval: 60 } })
  const { c: p } = await RawMqtt.connected(b.port, 5)
  p.send({ cmd: 'publish', topic: t, payload: 'no', qos: 1, messageId: 1 }); await p.next('puback')
  const m = await s.next('publish')
  s.send({ cmd: 'puback', messageId: m.messageId, reasonCode: 0x80 })
  await sleep(200)
  s.destroy()
  const { c: back } = await RawMqtt.connected(b.port, 5, { clientId: id, clean: false, properties: { sessionExpiryInterval: 0 } })
  assert.ok(await back.nothing('publish', 500), 'a PUBLISH refused with 0x80 was re-sent')
  await back.disconnect(); await p.disconnect()
})

test('[MQTT-1.5.4-3] [MQTT-1.5.3-3] a BOM (EF BB BF) inside a topic is kept, not stripped', async ({ b }) => {
  const t = `${topic('bom')}/\ufeffx`
  const s = await subscriber(b.port, t, 0)
  const { c: p } = await RawMqtt.connected(b.port, 5)
  p.send({ cmd: 'publish', topic: `${t.slice(0, -2)}x`, payload: 'stripped', qos: 0 }) // the same topic without the BOM: must not match
  p.send({ cmd: 'publish', topic: t, payload: 'kept', qos: 0 })
  const got = await s.next('publish')
  assert.equal([got.topic, got.payload.toString()], [t, 'kept'])
  assert.ok(await s.nothing('publish', 300), 'the topic without the BOM matched the filter with it')
  await s.disconnect(); await p.disconnect()
})

test('[MQTT-3.1.2-26] [MQTT-3.3.2-11] [MQTT-3.3.2-8] any Topic Alias the server sends is between 1 and the client\'s Topic Alias Maximum, and it never sends one to a client that allowed none', async ({ b }) => {
  const base = topic('alias')
  for (const max of [2, 0]) {
    const s = await subscriber(b.port, `${base}/${max}/#`, 0, { properties: max === 0 ? {} : { topicAliasMaximum: max } })
    const { c: p } = await RawMqtt.connected(b.port, 5)
    // Busy topics, each several times: what a server that assigns aliases would alias.
    for (let round = 0; round < 4; round++) for (let k = 0; k < 5; k++) p.send({ cmd: 'publish', topic: `${base}/${max}/t${k}`, payload: `${round}`, qos: 0 })
    await sleep(400)
    const got = s.received.filter((x) => x.cmd === 'publish')
    assert.is(got.length, 20)
    for (const m of got) {
      const alias = m.properties?.topicAlias as number | undefined
      if (max === 0) assert.is(alias, undefined, 'a Topic Alias sent to a client that allowed none [MQTT-3.1.2-27]')
      else if (alias !== undefined) assert.ok(alias >= 1 && alias <= max, `Topic Alias ${alias} with a client maximum of ${max}`)
    }
    await s.disconnect(); await p.disconnect()
  }
})

test('a v5 CONNECT with the Session Expiry Interval twice is a protocol error and the broker process survives the connection\'s end', async () => {
  // Found by test/conformance/mosquitto-diff.test.ts: aedes got the repeated property as an array and
  // the process died ("armLongTimer: delayMs must be a finite number") when the connection closed.
  const b = await startBrokerProcess()
  try {
    const c = await RawMqtt.open(b.port, 5)
    c.write('101800044d5154540502003c0a11000000051100000005000178')
    const connack = await c.next('connack').catch(() => undefined)
    if (connack !== undefined) assert.is(connack.reasonCode, 0x82, `CONNACK 0x${connack.reasonCode.toString(16)} for a repeated Session Expiry Interval`)
    c.destroy()
    await sleep(1000)
    assert.ok(b.stderr().match(/TypeError|armLongTimer/) === null, `the broker crashed:\n${b.stderr().slice(-1500)}`)
    const { c: after, connack: ok } = await RawMqtt.connected(b.port, 5)
    assert.is(ok.reasonCode, 0)
    await after.disconnect()
  } finally {
    await b.stop()
  }
})

test.run()
