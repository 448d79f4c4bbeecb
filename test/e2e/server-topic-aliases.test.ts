// Issue 9, "beyond Mosquitto": server-sent topic aliases (MQTT 5.0
// §3.3.2.3.4). A v5 client that advertises a Topic Alias Maximum gets aliases
// for the topics it receives most, within limits.topicAliasBudget; the first
// PUBLISH with an alias carries the topic, later ones an empty topic
// [MQTT-3.3.2-12]; a client that allows none gets none [MQTT-3.3.2-8].
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import mqtt from 'mqtt'
import { startBrokerInProcess, type InProcessBroker } from '../helpers/broker-process.ts'
import { RawMqtt, type AnyPacket } from '../helpers/raw-mqtt.ts'

const test = suite<{ b: InProcessBroker, off: InProcessBroker }>('server-sent topic aliases')
let n = 0
const base = (): string => `al-${process.pid}-${++n}`

test.before(async (ctx) => {
  ctx.b = await startBrokerInProcess('listeners:\n  - { name: tcp, type: tcp, host: 127.0.0.1, port: 0 }\nlimits: { topicAliasBudget: 2 }\nsys: { interval: 0 }\n')
  ctx.off = await startBrokerInProcess('listeners:\n  - { name: tcp, type: tcp, host: 127.0.0.1, port: 0 }\nlimits: { sendTopicAliases: false }\nsys: { interval: 0 }\n')
})
test.after(async (ctx) => { await ctx.b?.stop(); await ctx.off?.stop() })

/** Subscribes to prefix/#, publishes the topics in order at QoS 1, and returns every PUBLISH the subscriber got (in order). */
async function run (port: number, prefix: string, topics: string[], connect: Record<string, unknown>): Promise<AnyPacket[]> {
  const { c: sub } = await RawMqtt.connected(port, 5, connect)
  sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: `${prefix}/#`, qos: 1 }] })
  await sub.next('suback')
  const { c: pub } = await RawMqtt.connected(port, 4)
  const got: AnyPacket[] = []
  for (let i = 0; i < topics.length; i++) {
    pub.send({ cmd: 'publish', topic: `${prefix}/${topics[i]}`, payload: String(i), qos: 1, messageId: i + 1 })
    await pub.next('puback')
    const p = await sub.next('publish')
    sub.send({ cmd: 'puback', messageId: p.messageId })
    got.push(p)
  }
  await sub.disconnect(); await pub.disconnect()
  return got
}

/** Resolves topics as a receiver must [MQTT-3.3.2-12]; fails on an alias used before it was set or above `max`. */
function resolve (packets: AnyPacket[], max: number): string[] {
  const map = new Map<number, string>()
  return packets.map((p) => {
    const alias = p.properties?.topicAlias as number | undefined
    if (alias === undefined) { assert.ok(p.topic.length > 0, 'an empty topic without an alias'); return p.topic }
    assert.ok(alias >= 1 && alias <= max, `alias ${alias} outside 1..${max} [MQTT-3.3.2-9]`)
    if (p.topic.length > 0) { map.set(alias, p.topic); return p.topic }
    const t = map.get(alias)
    assert.ok(t !== undefined, `alias ${alias} used before the server set it`)
    return t
  })
}

test('a client allowing 10 aliases gets at most the budget (2), the busiest topics alias, and every topic resolves to what was published', async ({ b }) => {
  const prefix = base()
  const topics = ['a', 'a', 'a', 'b', 'b', 'c', 'a', 'c', 'c', 'c', 'a', 'b', 'd', 'c', 'a']
  const got = await run(b.port, prefix, topics, { properties: { topicAliasMaximum: 10 } })
  assert.equal(resolve(got, 2), topics.map((t) => `${prefix}/${t}`))
  const aliased = got.filter((p) => p.properties?.topicAlias !== undefined)
  const bare = got.filter((p) => p.topic === '')
  assert.ok(bare.length >= 5, `only ${bare.length} of ${got.length} PUBLISHes went with the alias alone`)
  assert.ok(new Set(aliased.map((p) => p.properties.topicAlias)).size <= 2)
  assert.is(got[0].properties?.topicAlias, undefined, 'a topic seen once takes no alias')
})

test('a client that advertises no Topic Alias Maximum, or 0, gets none [MQTT-3.3.2-8]; nor does anyone with limits.sendTopicAliases off', async ({ b, off }) => {
  for (const [port, connect] of [[b.port, {}], [b.port, { properties: { topicAliasMaximum: 0 } }], [off.port, { properties: { topicAliasMaximum: 10 } }]] as const) {
    const prefix = base()
    const got = await run(port, prefix, ['x', 'x', 'x', 'x'], connect)
    assert.equal(got.map((p) => p.topic), [1, 2, 3, 4].map(() => `${prefix}/x`))
    assert.ok(got.every((p) => p.properties?.topicAlias === undefined))
  }
})

test('MQTT.js v5 with topicAliasMaximum 4 receives every message on its real topic, in fewer bytes than the topic names alone', async ({ b }) => {
  const prefix = base()
  const sub = await mqtt.connectAsync({ host: '127.0.0.1', port: b.port, protocolVersion: 5, properties: { topicAliasMaximum: 4 } })
  const pub = await mqtt.connectAsync({ host: '127.0.0.1', port: b.port, protocolVersion: 4 })
  try {
    let wire = 0
    const got: string[] = []
    const all = new Promise<void>((resolve) => { sub.on('message', (t) => { got.push(t); if (got.length === 30) resolve() }) })
    await sub.subscribeAsync(`${prefix}/#`, { qos: 1 })
    sub.stream.on('data', (d: Buffer) => { wire += d.length })
    const sent: string[] = []
    for (let i = 0; i < 30; i++) {
      const t = `${prefix}/sensor/${i % 3}/temperature`
      sent.push(t)
      await pub.publishAsync(t, String(i), { qos: 1 })
    }
    await all
    assert.equal(got, sent)
    // without aliases the topic names alone would take 30 x (2 + length) bytes
    const topicBytes = 30 * (2 + sent[0].length)
    assert.ok(wire < topicBytes, `${wire} bytes received for 30 messages: the topics were not aliased (${topicBytes} bytes of topic names alone)`)
  } finally { await sub.endAsync(); await pub.endAsync() }
})

test('bytes on the wire: 100 messages on a 36-byte topic take fewer bytes with aliases (figure printed)', async ({ b, off }) => {
  const topic = 'site/gateway-7/sensors/temperature/c'
  const bytes = async (port: number): Promise<number> => {
    const { c: sub } = await RawMqtt.connected(port, 5, { properties: { topicAliasMaximum: 10 } })
    let count = 0
    sub.socket.on('data', (d: Buffer) => { count += d.length })
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 0 }] })
    await sub.next('suback')
    count = 0
    const { c: pub } = await RawMqtt.connected(port, 4)
    for (let i = 0; i < 100; i++) pub.send({ cmd: 'publish', topic, payload: '21.5', qos: 0 })
    for (let i = 0; i < 100; i++) await sub.next('publish')
    await sub.disconnect(); await pub.disconnect()
    return count
  }
  const withAliases = await bytes(b.port)
  const without = await bytes(off.port)
  console.log(`topic aliases: 100 QoS 0 messages, 4-byte payload, ${topic.length}-byte topic: ${withAliases} bytes with, ${without} without (${Math.round(100 - 100 * withAliases / without)}% fewer)`)
  assert.ok(withAliases < without * 0.5)
})

test.run()
