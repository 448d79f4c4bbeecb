// Differential tests against Mosquitto 2.0.11 (test/conformance/mosquitto-pair.ts),
// part 3: subscription options and SUBSCRIBE/UNSUBSCRIBE errors, v5 properties,
// error closes. Intended differences: test/conformance/intended-differences.ts.
import { RawMqtt } from '../helpers/raw-mqtt.ts'
import { assertSurvived, connected, diffSuite, end, norm, settle, subscribed } from './mosquitto-pair.ts'

const { test, scenario } = diffSuite('differential against mosquitto: subscriptions, v5 properties, errors')

// ---- subscription options and SUBSCRIBE/UNSUBSCRIBE errors -----------------------------------

scenario('subscribe: reserved bits set in v5 subscription options are malformed [MQTT-3.8.3-5]', async (port) => {
  const c = await connected(port, 5)
  c.write('82070001000001' + '61' + 'c1') // options byte 0xC1: reserved bits 6-7 set
  return await end(c)
})

scenario('subscribe: QoS 3 in a 3.1.1 SUBSCRIBE is malformed [MQTT-3-8.3-4]', async (port) => {
  const c = await connected(port, 4)
  c.write('8206000100016103')
  return await end(c)
})

scenario('subscribe: a SUBSCRIBE with no filter is closed [MQTT-3.8.3-3]', async (port) => {
  const c = await connected(port, 4)
  c.write('82020001')
  return await end(c)
})

scenario('subscribe: SUBSCRIBE with wrong fixed-header flags is closed [MQTT-3.8.1-1]', async (port) => {
  const c = await connected(port, 4)
  c.write('8006000100016101')
  return await end(c)
})

scenario('subscribe: an invalid filter is refused in the SUBACK, the others granted [MQTT-3.8.4-5]', async (port, t) => {
  const c = await connected(port, 4)
  c.send({ cmd: 'subscribe', messageId: 3, subscriptions: [{ topic: `${t}/ok`, qos: 1 }, { topic: `${t}/#/bad`, qos: 1 }, { topic: `${t}/a+`, qos: 0 }] })
  const out = await end(c, 800)
  return out
})

scenario('subscribe: v5 a malformed filter (# not last) closes the connection with DISCONNECT 0x81 [MQTT-4.7.1-1]', async (port, t) => {
  const c = await connected(port, 5)
  c.send({ cmd: 'subscribe', messageId: 3, subscriptions: [{ topic: `${t}/ok`, qos: 1 }, { topic: `${t}/#/bad`, qos: 1 }] })
  return await end(c, 800)
})

scenario('unsubscribe: an UNSUBSCRIBE with no filter is closed [MQTT-3.10.3-2]', async (port) => {
  const c = await connected(port, 4)
  c.write('a2020001')
  return await end(c)
})

scenario('unsubscribe: v5 UNSUBACK says 0x00 for a removed filter and 0x11 for an unknown one [MQTT-3.11.3-1]', async (port, t) => {
  const c = await subscribed(port, 5, [{ topic: `${t}/a`, qos: 0 }])
  c.send({ cmd: 'unsubscribe', messageId: 4, unsubscriptions: [`${t}/a`, `${t}/none`] })
  const got = norm(await c.next('unsuback'))
  await c.disconnect()
  return got
})

// ---- v5 properties --------------------------------------------------------------------------------

scenario('v5: Payload Format Indicator, Content Type, Response Topic, Correlation Data and Message Expiry are forwarded [MQTT-3.3.2-4] [MQTT-3.3.2-20]', async (port, t) => {
  const s = await subscribed(port, 5, [{ topic: `${t}/#`, qos: 1 }])
  const p = await connected(port, 5)
  p.send({ cmd: 'publish', topic: `${t}/x`, payload: 'props', qos: 1, messageId: 1, properties: { payloadFormatIndicator: true, contentType: 'application/json', responseTopic: `${t}/reply`, correlationData: Buffer.from('cd'), messageExpiryInterval: 100, userProperties: { b: '1', a: '2' } } })
  await p.next('puback')
  const m = await s.next('publish')
  s.send({ cmd: 'puback', messageId: m.messageId })
  await s.disconnect(); await p.disconnect()
  const pr = m.properties ?? {}
  return [norm(m), pr.payloadFormatIndicator, pr.contentType, pr.responseTopic === `${t}/reply`, String(pr.correlationData), pr.messageExpiryInterval > 90 && pr.messageExpiryInterval <= 100, Object.keys(pr.userProperties ?? {})]
})

scenario('v5: a Response Topic with a wildcard is closed [MQTT-3.3.2-14]', async (port, t) => {
  const c = await connected(port, 5)
  c.send({ cmd: 'publish', topic: `${t}/req`, payload: 'x', qos: 1, messageId: 1, properties: { responseTopic: `${t}/+/reply` } })
  return await end(c)
})

scenario('v5: an inbound Topic Alias is registered and then used alone [MQTT-3.3.2-12]', async (port, t) => {
  const s = await subscribed(port, 5, [{ topic: `${t}/#`, qos: 0 }])
  const p = await connected(port, 5)
  p.send({ cmd: 'publish', topic: `${t}/alias`, payload: 'one', qos: 0, properties: { topicAlias: 1 } })
  p.send({ cmd: 'publish', topic: '', payload: 'two', qos: 0, properties: { topicAlias: 1 } })
  const got = await settle(s, 400)
  await s.disconnect(); await p.disconnect()
  return got
})

scenario('v5: a Topic Alias of 0 is a protocol error [MQTT-3.3.2-8]', async (port, t) => {
  const p = await connected(port, 5)
  const topic = Buffer.from(`${t}/z`)
  // PUBLISH QoS 0, topic, properties: length 3, Topic Alias (0x23) = 0
  const body = Buffer.concat([Buffer.from([topic.length >> 8, topic.length & 0xff]), topic, Buffer.from([3, 0x23, 0, 0]), Buffer.from('x')])
  p.write(Buffer.concat([Buffer.from([0x30, body.length]), body]))
  return await end(p)
})

scenario('v5: more unacknowledged QoS 2 PUBLISH than the Receive Maximum is DISCONNECT 0x93', async (port, t) => {
  const { c: p, connack } = await RawMqtt.connected(port, 5)
  const max = (connack.properties?.receiveMaximum as number | undefined) ?? 65_535
  for (let i = 1; i <= max + 1; i++) p.send({ cmd: 'publish', topic: `${t}/rm`, payload: String(i), qos: 2, messageId: i })
  const out = await end(p, 3000)
  // How many PUBRECs come before the close is timing; that no more than max are accepted is not.
  return { max, withinMax: out.got.filter((g) => g === 'pubrec 0').length <= max, other: out.got.filter((g) => g !== 'pubrec 0'), closed: out.closed }
})

// ---- error closes --------------------------------------------------------------------------------

scenario('error: a v5 PUBACK carrying a Topic Alias property is a protocol error', async (port) => {
  const c = await connected(port, 5)
  c.write('40070001000323' + '0001')
  return await end(c)
})

scenario('error: a v5 PUBREL whose Reason String is cut short is malformed', async (port) => {
  const c = await connected(port, 5)
  c.write('6206000100021f00')
  return await end(c)
})

scenario('error: a 3.1.1 PUBREL with wrong fixed-header flags is closed [MQTT-3.6.1-1]', async (port) => {
  const c = await connected(port, 4)
  c.write('60020001')
  return await end(c)
})

scenario('error: a v5 PUBLISH with a wildcard in its topic is closed [MQTT-3.3.2-2]', async (port) => {
  const c = await connected(port, 5)
  c.send({ cmd: 'publish', topic: 'a/+/b', payload: 'x', qos: 0 })
  return await end(c)
})

scenario('error: a v5 DISCONNECT with reserved flags set is malformed [MQTT-3.14.1-1]', async (port) => {
  const c = await connected(port, 5)
  c.write('e100')
  return await end(c)
})

scenario('error: a v5 Subscription Identifier of 0 is a protocol error', async (port, t) => {
  const c = await connected(port, 5)
  const topic = Buffer.from(`${t}/s`)
  const body = Buffer.concat([Buffer.from([0, 1, 2, 0x0b, 0]), Buffer.from([topic.length >> 8, topic.length & 0xff]), topic, Buffer.from([1])])
  c.write(Buffer.concat([Buffer.from([0x82, body.length]), body]))
  return await end(c)
})

scenario('error: a Remaining Length of five bytes is malformed', async (port) => {
  const c = await connected(port, 5)
  c.write('30ffffffff7f')
  return await end(c)
})

assertSurvived(test)

test.run()
