// Differential tests: where the MQTT standards leave room, Mosquitto's
// behaviour is what users expect. Each scenario runs the same raw packets
// against a Mosquitto started by the test and against edgemq, and the two
// transcripts must be equal. These scenarios use test configs (a 1 s $SYS
// interval on both); test/conformance/mosquitto-diff.test.ts runs the scenario
// families against both brokers at their DEFAULT configs and holds the one
// table of intended differences (INTENDED_DIFFERENCES, explained in
// docs/conformance.md).
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { requireTool, startBrokerInProcess, type InProcessBroker } from '../helpers/broker-process.ts'
import { RawMqtt, type AnyPacket } from '../helpers/raw-mqtt.ts'
import { startTool, type ToolProcess } from '../helpers/tool-process.ts'
import { freePort, waitForPort } from '../helpers/mosquitto-process.ts'

interface Ctx { edgemq: InProcessBroker, mosquitto: ToolProcess, mosquittoPort: number, dir: string }
const test = suite<Ctx>('differential: mosquitto vs edgemq')
const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))
let n = 0
const tag = (): string => `diff/${process.pid}/${++n}`

test.before(async (ctx) => {
  const bin = requireTool('mosquitto', 'mosquitto')
  ctx.dir = await mkdtemp(join(tmpdir(), 'edgemq-mosquitto-'))
  ctx.mosquittoPort = await freePort()
  const conf = join(ctx.dir, 'mosquitto.conf')
  await writeFile(conf, `listener ${ctx.mosquittoPort} 127.0.0.1\nallow_anonymous true\npersistence false\nsys_interval 1\nmax_keepalive 600\n`)
  ctx.mosquitto = startTool(bin, ['-c', conf])
  await waitForPort(ctx.mosquittoPort, 5000)
  ctx.edgemq = await startBrokerInProcess('listeners:\n  - { name: tcp, type: tcp, port: 0 }\nsys: { interval: 1s }\n')
})
test.after(async (ctx) => {
  await ctx.edgemq?.stop()
  await ctx.mosquitto?.stop()
  await rm(ctx.dir, { recursive: true, force: true })
})

type Scenario = (port: number, t: string) => Promise<unknown>

/** Runs a scenario against both brokers and asserts equal transcripts. */
async function same (ctx: Ctx, scenario: Scenario): Promise<void> {
  const t = tag()
  const fromMosquitto = await scenario(ctx.mosquittoPort, t)
  const fromEdgemq = await scenario(ctx.edgemq.port, t)
  assert.equal(fromEdgemq, fromMosquitto, `edgemq ${JSON.stringify(fromEdgemq)} != mosquitto ${JSON.stringify(fromMosquitto)}`)
}

const subscriber = async (port: number, v: 4 | 5, subscriptions: Array<Record<string, unknown>>, connect: Record<string, unknown> = {}, properties?: Record<string, unknown>): Promise<{ c: RawMqtt, granted: number[] }> => {
  const { c } = await RawMqtt.connected(port, v, connect)
  c.send({ cmd: 'subscribe', messageId: 1, subscriptions, ...(properties === undefined ? {} : { properties }) })
  return { c, granted: (await c.next('suback')).granted }
}
const publishes = (c: RawMqtt): AnyPacket[] => c.received.filter((p) => p.cmd === 'publish')
const summary = (p: AnyPacket): string => `${p.topic}|${p.payload.toString()}|q${p.qos}|r${p.retain ? 1 : 0}`

test('CONNACK for v3.1.1 and v5, clean and resumed sessions, empty client ids', async (ctx) => {
  await same(ctx, async (port, t) => {
    const out: unknown[] = []
    const { c: a, connack: ca } = await RawMqtt.connected(port, 5, { clientId: '' })
    out.push(['v5 empty id', ca.reasonCode, ca.sessionPresent, typeof ca.properties?.assignedClientIdentifier])
    await a.disconnect()
    const id = `${t.replace(/\//g, '-')}-s`
    const { c: b } = await RawMqtt.connected(port, 4, { clientId: id, clean: false })
    b.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: `${t}/x`, qos: 1 }] }); await b.next('suback')
    await b.disconnect()
    const { c: b2, connack: cb2 } = await RawMqtt.connected(port, 4, { clientId: id, clean: false })
    out.push(['resumed', cb2.returnCode, cb2.sessionPresent])
    await b2.disconnect()
    const { c: b3, connack: cb3 } = await RawMqtt.connected(port, 4, { clientId: id, clean: true })
    out.push(['clean', cb3.returnCode, cb3.sessionPresent])
    await b3.disconnect()
    const raw = await RawMqtt.open(port, 4)
    raw.write('100c00044d5154540400003c0000') // empty id, clean=0
    out.push(['v4 empty id persistent', (await raw.next('connack')).returnCode])
    await raw.closedByBroker()
    return out
  })
})

test('QoS: the granted QoS, the delivered QoS under a wildcard, and the retained QoS', async (ctx) => {
  await same(ctx, async (port, t) => {
    const { c: p } = await RawMqtt.connected(port, 4)
    p.send({ cmd: 'publish', topic: `${t}/r`, payload: 'ret', qos: 2, messageId: 1, retain: true })
    await p.next('pubrec'); p.send({ cmd: 'pubrel', messageId: 1 }); await p.next('pubcomp')
    const { c, granted } = await subscriber(port, 4, [{ topic: `${t}/#`, qos: 1 }])
    const retained = await c.next('publish')
    c.send({ cmd: 'puback', messageId: retained.messageId })
    p.send({ cmd: 'publish', topic: `${t}/live`, payload: 'live', qos: 2, messageId: 2 })
    await p.next('pubrec'); p.send({ cmd: 'pubrel', messageId: 2 }); await p.next('pubcomp')
    const live = await c.next('publish')
    c.send({ cmd: 'puback', messageId: live.messageId })
    p.send({ cmd: 'publish', topic: `${t}/r`, payload: '', qos: 0, retain: true })
    await c.disconnect(); await p.disconnect()
    return [granted, summary(retained), summary(live)]
  })
})

test('retained messages: replace, clear with an empty payload, RETAIN flag on new and live subscribers', async (ctx) => {
  await same(ctx, async (port, t) => {
    const { c: p } = await RawMqtt.connected(port, 4)
    const out: string[][] = []
    const look = async (): Promise<string[]> => {
      const { c } = await subscriber(port, 4, [{ topic: `${t}/+`, qos: 0 }])
      await sleep(200)
      const got = publishes(c).map(summary).sort()
      await c.disconnect()
      return got
    }
    p.send({ cmd: 'publish', topic: `${t}/a`, payload: 'one', qos: 1, messageId: 1, retain: true }); await p.next('puback')
    p.send({ cmd: 'publish', topic: `${t}/b`, payload: 'two', qos: 1, messageId: 2, retain: true }); await p.next('puback')
    out.push(await look())
    p.send({ cmd: 'publish', topic: `${t}/a`, payload: 'uno', qos: 1, messageId: 3, retain: true }); await p.next('puback')
    out.push(await look())
    p.send({ cmd: 'publish', topic: `${t}/a`, payload: '', qos: 1, messageId: 4, retain: true }); await p.next('puback')
    p.send({ cmd: 'publish', topic: `${t}/b`, payload: '', qos: 1, messageId: 5, retain: true }); await p.next('puback')
    out.push(await look())
    await p.disconnect()
    return out
  })
})

test('wills: published on an abnormal close, not after DISCONNECT; # does not see $SYS', async (ctx) => {
  await same(ctx, async (port, t) => {
    const { c: s } = await subscriber(port, 4, [{ topic: `${t}/#`, qos: 0 }])
    const { c: all } = await subscriber(port, 4, [{ topic: '#', qos: 0 }])
    const { c: a } = await RawMqtt.connected(port, 4, { will: { topic: `${t}/will-a`, payload: Buffer.from('dropped'), qos: 0, retain: false } })
    const { c: b } = await RawMqtt.connected(port, 4, { will: { topic: `${t}/will-b`, payload: Buffer.from('clean'), qos: 0, retain: false } })
    a.destroy()
    await b.disconnect()
    await sleep(1300) // past one $SYS interval of both brokers
    const got = publishes(s).map(summary)
    const dollar = publishes(all).filter((p) => p.topic.startsWith('$')).length
    await s.disconnect(); await all.disconnect()
    return [got, dollar]
  })
})

test('v5 subscription options: no local, retain as published, retain handling 0/1/2', async (ctx) => {
  await same(ctx, async (port, t) => {
    const { c: p } = await RawMqtt.connected(port, 5)
    p.send({ cmd: 'publish', topic: `${t}/k`, payload: 'kept', qos: 1, messageId: 1, retain: true }); await p.next('puback')
    const out: unknown[] = []
    for (const rh of [0, 1, 2]) {
      const { c } = await subscriber(port, 5, [{ topic: `${t}/k`, qos: 0, rh }])
      await sleep(150)
      out.push([`rh${rh}`, publishes(c).length])
      await c.disconnect()
    }
    const { c: nl } = await subscriber(port, 5, [{ topic: `${t}/n`, qos: 0, nl: true }, { topic: `${t}/k`, qos: 0, rap: true, rh: 2 }])
    nl.send({ cmd: 'publish', topic: `${t}/n`, payload: 'self', qos: 0 })
    p.send({ cmd: 'publish', topic: `${t}/n`, payload: 'other', qos: 0 })
    p.send({ cmd: 'publish', topic: `${t}/k`, payload: 'again', qos: 0, retain: true })
    await sleep(200)
    out.push(publishes(nl).map(summary).sort())
    p.send({ cmd: 'publish', topic: `${t}/k`, payload: '', qos: 1, messageId: 2, retain: true }); await p.next('puback')
    await nl.disconnect(); await p.disconnect()
    return out
  })
})

test('v5: subscription identifiers, UNSUBACK reason codes, user properties and request/response properties', async (ctx) => {
  await same(ctx, async (port, t) => {
    const { c: s } = await subscriber(port, 5, [{ topic: `${t}/#`, qos: 1 }], {}, { subscriptionIdentifier: 77 })
    const { c: p } = await RawMqtt.connected(port, 5)
    p.send({ cmd: 'publish', topic: `${t}/x`, payload: 'req', qos: 1, messageId: 1, properties: { responseTopic: `${t}/reply`, correlationData: Buffer.from('c1'), userProperties: { k: 'v' }, contentType: 'text/plain' } })
    await p.next('puback')
    const got = await s.next('publish')
    s.send({ cmd: 'puback', messageId: got.messageId })
    s.send({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: [`${t}/#`, `${t}/none`] })
    const unsuback = await s.next('unsuback')
    await s.disconnect(); await p.disconnect()
    const props = got.properties ?? {}
    return [props.subscriptionIdentifier, props.responseTopic, String(props.correlationData), { ...props.userProperties }, props.contentType, unsuback.granted]
  })
})

test('v5 shared subscriptions: two members split four messages two and two', async (ctx) => {
  await same(ctx, async (port, t) => {
    const { c: m1, granted } = await subscriber(port, 5, [{ topic: `$share/g/${t}/#`, qos: 0 }])
    const { c: m2 } = await subscriber(port, 5, [{ topic: `$share/g/${t}/#`, qos: 0 }])
    const { c: p } = await RawMqtt.connected(port, 5)
    for (let i = 0; i < 4; i++) p.send({ cmd: 'publish', topic: `${t}/j`, payload: String(i), qos: 0 })
    await sleep(300)
    const counts = [publishes(m1).length, publishes(m2).length].sort()
    await m1.disconnect(); await m2.disconnect(); await p.disconnect()
    return [granted, counts]
  })
})

test('3.1.1 clients can use shared subscriptions too (a Mosquitto extension)', async (ctx) => {
  await same(ctx, async (port, t) => {
    const { c: m1, granted } = await subscriber(port, 4, [{ topic: `$share/g4/${t}/#`, qos: 1 }])
    const { c: m2 } = await subscriber(port, 4, [{ topic: `$share/g4/${t}/#`, qos: 1 }])
    const { c: p } = await RawMqtt.connected(port, 4)
    for (let i = 0; i < 4; i++) p.send({ cmd: 'publish', topic: `${t}/j`, payload: String(i), qos: 0 })
    await sleep(300)
    const counts = [publishes(m1).length, publishes(m2).length].sort()
    await m1.disconnect(); await m2.disconnect(); await p.disconnect()
    return [granted, counts]
  })
})

test('v5 flow control: with Receive Maximum 2, two QoS 1 messages are in flight until acknowledged, order kept', async (ctx) => {
  await same(ctx, async (port, t) => {
    const { c: s } = await subscriber(port, 5, [{ topic: `${t}/#`, qos: 1 }], { properties: { receiveMaximum: 2 } })
    const { c: p } = await RawMqtt.connected(port, 5)
    for (let i = 1; i <= 4; i++) p.send({ cmd: 'publish', topic: `${t}/m`, payload: `m${i}`, qos: 1, messageId: i })
    await sleep(300)
    const inFlight = publishes(s).length
    const order: string[] = []
    for (let i = 0; i < 4; i++) {
      const got = await s.next('publish')
      order.push(got.payload.toString())
      s.send({ cmd: 'puback', messageId: got.messageId })
    }
    await s.disconnect(); await p.disconnect()
    return [inFlight, order]
  })
})

test('v5: a message over the client Maximum Packet Size is skipped, the next one delivered', async (ctx) => {
  await same(ctx, async (port, t) => {
    const { c: s } = await subscriber(port, 5, [{ topic: `${t}/#`, qos: 1 }], { properties: { maximumPacketSize: 200 } })
    const { c: p } = await RawMqtt.connected(port, 5)
    p.send({ cmd: 'publish', topic: `${t}/big`, payload: Buffer.alloc(400), qos: 1, messageId: 1 })
    p.send({ cmd: 'publish', topic: `${t}/small`, payload: 'fits', qos: 1, messageId: 2 })
    const got = await s.next('publish')
    s.send({ cmd: 'puback', messageId: got.messageId })
    await sleep(200)
    const more = publishes(s).length
    await s.disconnect(); await p.disconnect()
    return [summary(got), more, s.closed]
  })
})

test('v5 message expiry: a queued message is sent with its remaining interval, an expired one not at all', async (ctx) => {
  await same(ctx, async (port, t) => {
    const id = `${t.replace(/\//g, '-')}-mx`
    const { c: s } = await subscriber(port, 5, [{ topic: `${t}/#`, qos: 1 }], { clientId: id, properties: { sessionExpiryInterval: 60 } })
    await s.disconnect()
    const { c: p } = await RawMqtt.connected(port, 5)
    p.send({ cmd: 'publish', topic: `${t}/short`, payload: 's', qos: 1, messageId: 1, properties: { messageExpiryInterval: 1 } })
    p.send({ cmd: 'publish', topic: `${t}/long`, payload: 'l', qos: 1, messageId: 2, properties: { messageExpiryInterval: 60 } })
    await p.next('puback'); await p.next('puback')
    await sleep(2100)
    const { c: back } = await RawMqtt.connected(port, 5, { clientId: id, clean: false, properties: { sessionExpiryInterval: 0 } })
    await sleep(300)
    const got = publishes(back).map((x) => [x.topic, (x.properties?.messageExpiryInterval ?? 0) < 60 && (x.properties?.messageExpiryInterval ?? 0) >= 55])
    for (const x of publishes(back)) back.send({ cmd: 'puback', messageId: x.messageId })
    await back.disconnect(); await p.disconnect()
    return got
  })
})

test.run()
