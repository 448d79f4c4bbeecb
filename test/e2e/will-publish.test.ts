// Issue 9, bug 2: the PUBLISH that carries a v5 will. A will's properties are
// those of MQTT 5.0 §3.1.3.2; a PUBLISH may only carry those of §3.3.2.3, so the
// Will Delay Interval (0x18) must not be forwarded (a strict client closes on
// it and never sees the will). The will goes at the earlier of its delay and
// the end of the session [MQTT-3.1.3-9]. Each scenario runs against edgemq and
// against Debian's Mosquitto 2.0.11 with the same raw packets.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { startBrokerInProcess, type InProcessBroker } from '../helpers/broker-process.ts'
import { MosquittoProcess } from '../helpers/mosquitto-process.ts'
import { RawMqtt } from '../helpers/raw-mqtt.ts'

const test = suite<{ b: InProcessBroker, m: MosquittoProcess }>('v5 will PUBLISH')
let n = 0
const id = (name: string): string => `${name}-${process.pid}-${++n}`

/** What a PUBLISH may carry [MQTT 5.0 §3.3.2.3]. */
const PUBLISH_PROPERTIES = new Set(['payloadFormatIndicator', 'messageExpiryInterval', 'topicAlias', 'responseTopic', 'correlationData', 'userProperties', 'subscriptionIdentifier', 'contentType'])

test.before(async (ctx) => {
  ctx.b = await startBrokerInProcess('listeners:\n  - { name: tcp, type: tcp, host: 127.0.0.1, port: 0 }\nsys: { interval: 0 }\n')
  ctx.m = await MosquittoProcess.start()
})
test.after(async (ctx) => { await ctx.b?.stop(); await ctx.m?.dispose() })

async function subscriber (port: number, filter: string): Promise<RawMqtt> {
  const { c } = await RawMqtt.connected(port, 5)
  c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: filter, qos: 1 }] })
  await c.next('suback')
  return c
}

for (const target of ['edgemq', 'mosquitto'] as const) {
  const portOf = (ctx: { b: InProcessBroker, m: MosquittoProcess }): number => target === 'edgemq' ? ctx.b.port : ctx.m.port

  test(`${target}: a delayed will arrives as a well-formed PUBLISH without Will Delay Interval, with its other properties`, async (ctx) => {
    const port = portOf(ctx)
    const topic = `will/${target}/${id('props')}`
    const s = await subscriber(port, topic)
    const { c } = await RawMqtt.connected(port, 5, {
      clientId: id('w'),
      properties: { sessionExpiryInterval: 30 },
      will: { topic, payload: Buffer.from('gone'), qos: 1, retain: false, properties: { willDelayInterval: 1, contentType: 'text/plain', userProperties: { site: 'north' }, messageExpiryInterval: 60 } }
    })
    c.destroy()
    const got = await s.next('publish', 8000)
    assert.is(got.payload.toString(), 'gone')
    const names = Object.keys(got.properties ?? {})
    assert.not.ok(names.includes('willDelayInterval'), `the will PUBLISH carries property 0x18: ${JSON.stringify(got.properties)}`)
    for (const name of names) assert.ok(PUBLISH_PROPERTIES.has(name), `property ${name} is not allowed in PUBLISH`)
    assert.is(got.properties?.contentType, 'text/plain')
    assert.equal({ ...got.properties?.userProperties }, { site: 'north' })
    assert.ok(typeof got.properties?.messageExpiryInterval === 'number' && got.properties.messageExpiryInterval <= 60)
    await s.disconnect()
  })

  test(`${target}: the will goes when the session ends if that is before the Will Delay Interval [MQTT-3.1.3-9]`, async (ctx) => {
    const port = portOf(ctx)
    const topic = `will/${target}/${id('end')}`
    const s = await subscriber(port, topic)
    const { c } = await RawMqtt.connected(port, 5, {
      clientId: id('w'),
      properties: { sessionExpiryInterval: 1 },
      will: { topic, payload: Buffer.from('session-ended'), qos: 0, retain: false, properties: { willDelayInterval: 60 } }
    })
    c.destroy()
    // the session ends after 1 s; the will delay (60 s) must not hold it back
    const got = await s.next('publish', 20_000)
    assert.is(got.payload.toString(), 'session-ended')
    assert.not.ok('willDelayInterval' in (got.properties ?? {}))
    await s.disconnect()
  })
}

test.run()
