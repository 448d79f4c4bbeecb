// More server-side statements, on raw packets: QoS flows around packet-id
// reuse, UNSUBSCRIBE and expiry; shared-subscription delivery when a member
// drops or refuses; the size of every packet the server sends against the
// client's Maximum Packet Size; Variable Byte Integers; MQTT over WebSocket
// frames. edgemq runs at its default options plus a ws listener.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { connect } from 'node:net'
import WebSocket from 'ws'
import mqttPacket from 'mqtt-packet'
import { startBrokerInProcess, type InProcessBroker } from '../helpers/broker-process.ts'
import { RawMqtt } from '../helpers/raw-mqtt.ts'

const test = suite<{ b: InProcessBroker }>('server flows')
const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))
let n = 0
const uid = (s: string): string => `sf-${s}-${process.pid}-${++n}`
const topic = (s: string): string => `sf/${process.pid}/${++n}/${s}`

test.before(async (ctx) => {
  ctx.b = await startBrokerInProcess('listeners:\n  - { name: tcp, type: tcp, host: 127.0.0.1, port: 0 }\n  - { name: ws, type: ws, host: 127.0.0.1, port: 0, path: /mqtt }\n')
})
test.after(async (ctx) => { await ctx.b.stop() })

const subscriber = async (port: number, v: 4 | 5, filter: string, qos = 1, connect: Record<string, unknown> = {}): Promise<RawMqtt> => {
  const { c } = await RawMqtt.connected(port, v, connect)
  c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: filter, qos }] })
  const ack = await c.next('suback')
  assert.ok(ack.granted[0] < 0x80, `subscription refused: ${ack.granted[0]}`)
  return c
}
const payloads = (c: RawMqtt): string[] => c.received.filter((p) => p.cmd === 'publish').map((p) => p.payload.toString())

test('[MQTT-3.10.4-3] a QoS 2 delivery started before UNSUBSCRIBE is completed after it', async ({ b }) => {
  const t = topic('unsub')
  const s = await subscriber(b.port, 4, t, 2)
  const { c: p } = await RawMqtt.connected(b.port, 4)
  p.send({ cmd: 'publish', topic: t, payload: 'started', qos: 2, messageId: 1 }); await p.next('pubrec')
  p.send({ cmd: 'pubrel', messageId: 1 }); await p.next('pubcomp')
  const m = await s.next('publish')
  s.send({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: [t] })
  await s.next('unsuback')
  s.send({ cmd: 'pubrec', messageId: m.messageId })
  assert.is((await s.next('pubrel')).messageId, m.messageId)
  s.send({ cmd: 'pubcomp', messageId: m.messageId })
  await s.disconnect(); await p.disconnect()
})

test('[MQTT-4.3.2-5] [MQTT-4.3.3-12] a packet id reused after its flow ended starts a new message (QoS 1 and QoS 2)', async ({ b }) => {
  const t = topic('reuse')
  const s = await subscriber(b.port, 5, t, 0)
  const { c: p } = await RawMqtt.connected(b.port, 5)
  p.send({ cmd: 'publish', topic: t, payload: 'q1-a', qos: 1, messageId: 5 }); await p.next('puback')
  p.send({ cmd: 'publish', topic: t, payload: 'q1-b', qos: 1, messageId: 5, dup: true }); await p.next('puback')
  p.send({ cmd: 'publish', topic: t, payload: 'q2-a', qos: 2, messageId: 7 }); await p.next('pubrec')
  p.send({ cmd: 'pubrel', messageId: 7 }); await p.next('pubcomp')
  p.send({ cmd: 'publish', topic: t, payload: 'q2-b', qos: 2, messageId: 7 }); await p.next('pubrec')
  p.send({ cmd: 'pubrel', messageId: 7 }); await p.next('pubcomp')
  await sleep(300)
  assert.equal(payloads(s), ['q1-a', 'q1-b', 'q2-a', 'q2-b'])
  await s.disconnect(); await p.disconnect()
})

test('[MQTT-4.3.3-13] an inbound QoS 2 message that expires before PUBREL still gets its PUBCOMP', async ({ b }) => {
  const { c: p } = await RawMqtt.connected(b.port, 5)
  p.send({ cmd: 'publish', topic: topic('exp'), payload: 'x', qos: 2, messageId: 3, properties: { messageExpiryInterval: 1 } })
  await p.next('pubrec')
  await sleep(1300)
  p.send({ cmd: 'pubrel', messageId: 3 })
  const comp = await p.next('pubcomp')
  assert.is(comp.reasonCode ?? 0, 0)
  await p.disconnect()
})

test('[MQTT-4.3.3-7] a QoS 2 message already sent is not expired: its PUBREL comes even after the expiry interval', async ({ b }) => {
  const t = topic('exp2')
  const s = await subscriber(b.port, 5, t, 2)
  const { c: p } = await RawMqtt.connected(b.port, 5)
  p.send({ cmd: 'publish', topic: t, payload: 'x', qos: 2, messageId: 1, properties: { messageExpiryInterval: 1 } }); await p.next('pubrec')
  p.send({ cmd: 'pubrel', messageId: 1 }); await p.next('pubcomp')
  const m = await s.next('publish')
  await sleep(1300)
  s.send({ cmd: 'pubrec', messageId: m.messageId })
  assert.is((await s.next('pubrel')).messageId, m.messageId)
  s.send({ cmd: 'pubcomp', messageId: m.messageId })
  await s.disconnect(); await p.disconnect()
})

test('[MQTT-4.8.2-4] a QoS 2 shared delivery cut by a dropped connection is completed with that member when it reconnects, not moved', async ({ b }) => {
  const t = topic('sh2')
  const id = uid('m1')
  const filter = `$share/g${n}/${t}`
  const m1 = await subscriber(b.port, 5, filter, 2, { clientId: id, properties: { sessionExpiryInterval: 60 } })
  const { c: p } = await RawMqtt.connected(b.port, 5)
  p.send({ cmd: 'publish', topic: t, payload: 'only-m1', qos: 2, messageId: 1 }); await p.next('pubrec')
  p.send({ cmd: 'pubrel', messageId: 1 }); await p.next('pubcomp')
  await m1.next('publish')
  m1.destroy()
  const m2 = await subscriber(b.port, 5, filter, 2)
  const { c: back } = await RawMqtt.connected(b.port, 5, { clientId: id, clean: false, properties: { sessionExpiryInterval: 0 } })
  const again = await back.next('publish')
  assert.equal([again.payload.toString(), again.dup], ['only-m1', true])
  back.send({ cmd: 'pubrec', messageId: again.messageId }); await back.next('pubrel'); back.send({ cmd: 'pubcomp', messageId: again.messageId })
  assert.ok(await m2.nothing('publish', 300), 'the interrupted QoS 2 delivery went to another member too')
  await back.disconnect(); await m2.disconnect(); await p.disconnect()
})

test('[MQTT-4.8.2-5] when a shared member\'s session ends before it reconnects, its message is not sent to another member', async ({ b }) => {
  const t = topic('sh5')
  const filter = `$share/g${n}/${t}`
  const m1 = await subscriber(b.port, 5, filter, 1, { properties: { sessionExpiryInterval: 0 } })
  const { c: p } = await RawMqtt.connected(b.port, 5)
  p.send({ cmd: 'publish', topic: t, payload: 'lost-with-m1', qos: 1, messageId: 1 }); await p.next('puback')
  await m1.next('publish')
  const m2 = await subscriber(b.port, 5, filter, 1)
  m1.destroy() // session expiry 0: the session ends with the connection
  assert.ok(await m2.nothing('publish', 500), 'the message of an ended session went to another member')
  await m2.disconnect(); await p.disconnect()
})

test('[MQTT-4.8.2-6] a shared delivery refused with PUBACK 0x80 is not sent to another member', async ({ b }) => {
  const t = topic('sh6')
  const filter = `$share/g${n}/${t}`
  const m1 = await subscriber(b.port, 5, filter, 1)
  const m2 = await subscriber(b.port, 5, filter, 1)
  const { c: p } = await RawMqtt.connected(b.port, 5)
  p.send({ cmd: 'publish', topic: t, payload: 'refused', qos: 1, messageId: 1 }); await p.next('puback')
  await sleep(300)
  const [got, other] = m1.received.some((x) => x.cmd === 'publish') ? [m1, m2] : [m2, m1]
  const m = await got.next('publish')
  got.send({ cmd: 'puback', messageId: m.messageId, reasonCode: 0x80 })
  assert.ok(await other.nothing('publish', 500), 'a refused shared delivery was sent to another member')
  await m1.disconnect(); await m2.disconnect(); await p.disconnect()
})

test('[MQTT-3.1.2-24] and the Reason String / User Property size rules: no packet the server sends exceeds the client\'s Maximum Packet Size', async ({ b }) => {
  // 3.2.2-19/20, 3.4.2-2/3, 3.5.2-2/3, 3.6.2-2/3, 3.7.2-2/3, 3.9.2-1/2, 3.11.2-1/2, 3.14.2-3/4: whatever
  // the server adds to CONNACK, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK or DISCONNECT, the packet
  // must fit the client's limit. A 40-byte limit leaves no room for a Reason String or User Property.
  const LIMIT = 40
  const sizes: Array<{ cmd: string, size: number }> = []
  const s = connect(b.port, '127.0.0.1')
  const parser = mqttPacket.parser({ protocolVersion: 5 })
  let buf = Buffer.alloc(0)
  const packets: Array<Record<string, any>> = []
  parser.on('packet', (p: Record<string, any>) => packets.push(p))
  s.on('data', (d) => {
    parser.parse(d)
    buf = Buffer.concat([buf, d])
    for (;;) { // frame by frame, to measure each packet's full size
      if (buf.length < 2) break
      let len = 0; let mul = 1; let i = 1
      for (; i < 5 && i < buf.length; i++) { len += (buf[i] & 0x7f) * mul; mul *= 128; if ((buf[i] & 0x80) === 0) break }
      const total = 1 + i + len
      if (buf.length < total) break
      sizes.push({ cmd: `type ${buf[0] >> 4}`, size: total })
      buf = buf.subarray(total)
    }
  })
  const id = uid('mps')
  const send = (p: Record<string, unknown>): void => { s.write(mqttPacket.generate(p as unknown as mqttPacket.Packet, { protocolVersion: 5 })) }
  const next = async (cmd: string): Promise<Record<string, any>> => {
    for (let k = 0; k < 100; k++) { const i = packets.findIndex((p) => p.cmd === cmd); if (i >= 0) return packets.splice(i, 1)[0]; await sleep(30) }
    throw new Error(`no ${cmd}; got ${packets.map((p) => p.cmd).join(',')}`)
  }
  await new Promise<void>((resolve) => s.once('connect', () => resolve()))
  send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clean: true, keepalive: 60, clientId: id, properties: { maximumPacketSize: LIMIT, requestProblemInformation: true } })
  await next('connack')
  const t = 'sf/m'
  send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: t, qos: 2 }, { topic: '$SYS/#', qos: 0 }, { topic: 'sf/other/+', qos: 1 }] })
  await next('suback').catch(() => undefined)
  send({ cmd: 'publish', topic: t, payload: 'x', qos: 1, messageId: 2 }); await next('puback')
  send({ cmd: 'publish', topic: t, payload: 'y', qos: 2, messageId: 3 }); await next('pubrec')
  send({ cmd: 'pubrel', messageId: 3 }); await next('pubcomp')
  send({ cmd: 'pubrel', messageId: 99 }); await next('pubcomp') // unknown id: PUBCOMP 0x92
  send({ cmd: 'puback', messageId: 77 }) // unknown id
  send({ cmd: 'unsubscribe', messageId: 4, unsubscriptions: [t, 'never/subscribed'] }); await next('unsuback').catch(() => undefined)
  send({ cmd: 'publish', topic: t, payload: 'z', qos: 1, messageId: 5, properties: { topicAlias: 60_000 } }) // over the alias maximum: DISCONNECT
  await sleep(500)
  s.destroy()
  const over = sizes.filter((x) => x.size > LIMIT)
  assert.equal(over, [], `packets over the client's Maximum Packet Size ${LIMIT}: ${JSON.stringify(over)}`)
  assert.ok(sizes.length >= 6, `too few packets seen: ${sizes.length}`)
})

test('[MQTT-1.5.5-1] the server writes each Remaining Length in the fewest bytes', async ({ b }) => {
  const t = topic('vbi')
  const s = connect(b.port, '127.0.0.1')
  let raw = Buffer.alloc(0)
  s.on('data', (d) => { raw = Buffer.concat([raw, d]) })
  await new Promise<void>((resolve) => s.once('connect', () => resolve()))
  const gen = (p: Record<string, unknown>): Buffer => mqttPacket.generate(p as unknown as mqttPacket.Packet, { protocolVersion: 4 })
  s.write(gen({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 60, clientId: uid('vbi') }))
  s.write(gen({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: t, qos: 0 }] }))
  await sleep(200)
  for (const size of [100 - t.length, 200, 16_400]) s.write(gen({ cmd: 'publish', topic: t, payload: Buffer.alloc(size, 0x61), qos: 0 }))
  await sleep(500)
  s.destroy()
  const lengths: number[] = []
  for (let off = 0; off < raw.length;) {
    let len = 0; let mul = 1; let i = off + 1
    for (; ; i++) { len += (raw[i] & 0x7f) * mul; mul *= 128; if ((raw[i] & 0x80) === 0) break }
    const digits = i - off
    const minimal = len < 128 ? 1 : len < 16_384 ? 2 : len < 2_097_152 ? 3 : 4
    assert.is(digits, minimal, `a Remaining Length of ${len} written in ${digits} bytes`)
    lengths.push(len)
    off = i + 1 + len
  }
  assert.ok(lengths.some((l) => l >= 16_384), `no 3-byte length exercised: ${lengths.join(',')}`)
})

/** Opens an MQTT-over-WebSocket connection to the ws listener. */
async function openWs (port: number): Promise<{ ws: WebSocket, packets: Array<Record<string, any>>, closed: Promise<void> }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/mqtt`, 'mqtt')
  const packets: Array<Record<string, any>> = []
  const parser = mqttPacket.parser({ protocolVersion: 4 })
  parser.on('packet', (p: Record<string, any>) => packets.push(p))
  ws.on('message', (d) => parser.parse(d as Buffer))
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()))
  ws.on('error', () => {})
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject) })
  return { ws, packets, closed }
}

test('[MQTT-6.0.0-2] over WebSocket, MQTT packets may be split across frames and packed several to a frame', async ({ b }) => {
  const { ws, packets } = await openWs(b.ports.ws)
  const gen = (p: Record<string, unknown>): Buffer => mqttPacket.generate(p as unknown as mqttPacket.Packet, { protocolVersion: 4 })
  const connectBytes = gen({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 60, clientId: uid('ws') })
  ws.send(connectBytes.subarray(0, 5)); ws.send(connectBytes.subarray(5)) // one packet in two frames
  ws.send(Buffer.concat([gen({ cmd: 'pingreq' }), gen({ cmd: 'pingreq' })])) // two packets in one frame
  for (let k = 0; k < 100 && packets.filter((p) => p.cmd === 'pingresp').length < 2; k++) await sleep(30)
  assert.equal(packets.map((p) => p.cmd), ['connack', 'pingresp', 'pingresp'])
  ws.close()
})

test('[MQTT-6.0.0-1] over WebSocket, a text frame closes the connection', async ({ b }) => {
  const { ws, packets, closed } = await openWs(b.ports.ws)
  const connectBytes = mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 60, clientId: uid('wst') } as unknown as mqttPacket.Packet)
  ws.send(connectBytes) // binary: accepted
  for (let k = 0; k < 100 && packets.length === 0; k++) await sleep(30)
  assert.is(packets[0]?.cmd, 'connack')
  ws.send('\xc0\x00', { binary: false }) // a PINGREQ in a text frame
  const outcome = await Promise.race([closed.then(() => 'closed'), sleep(3000).then(() => 'open')])
  assert.is(outcome, 'closed', `the connection stayed open after a text frame (packets: ${packets.map((p) => p.cmd).join(',')})`)
})

test.run()
