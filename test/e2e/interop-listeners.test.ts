// Every listener type speaks MQTT 3.1, 3.1.1 and 5.0: MQTT.js round trips on
// tcp, tls, ws and wss (MQTT over WebSocket [MQTT-6.0.0]), and the WebSocket maxPayload equals
// limits.maxPacketSize, so an oversized frame is refused by the ws layer
// before MQTT parsing (close code 1009).
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import mqtt from 'mqtt'
import mqttPacket from 'mqtt-packet'
import WebSocket from 'ws'
import { type InProcessBroker } from '../helpers/broker-process.ts'
import { startFourListenerBroker, type FourListenerBroker } from '../helpers/four-listener-broker.ts'

const test = suite<{ b: InProcessBroker, cert: Buffer, listeners: FourListenerBroker }>('interop: tcp, tls, ws and wss listeners')
const MAX_PACKET = 4096

test.before(async (ctx) => {
  ctx.listeners = await startFourListenerBroker(`{ maxPacketSize: ${MAX_PACKET} }`)
  ctx.b = ctx.listeners.b
  ctx.cert = ctx.listeners.cert
})
test.after(async (ctx) => {
  await ctx.listeners?.stop()
})

async function roundTrip (url: string, protocolVersion: 3 | 4 | 5, options: Record<string, unknown> = {}): Promise<string> {
  const version = protocolVersion === 3 ? { protocolVersion, protocolId: 'MQIsdp' as const } : { protocolVersion }
  const sub = await mqtt.connectAsync(url, { ...version, ...options })
  const pub = await mqtt.connectAsync(url, { ...version, ...options })
  try {
    const topic = `ws/${protocolVersion}/${Math.random().toString(16).slice(2)}`
    await sub.subscribeAsync(topic, { qos: 1 })
    const got = new Promise<string>((resolve) => sub.on('message', (_t, payload) => resolve(payload.toString())))
    await pub.publishAsync(topic, `over-${url.split(':')[0]}-v${protocolVersion}`, { qos: 1 })
    return await got
  } finally {
    await sub.endAsync(); await pub.endAsync()
  }
}

for (const [listener, scheme, tlsOptions] of [['tcp', 'mqtt', false], ['tls', 'mqtts', true], ['ws', 'ws', false], ['wss', 'wss', true]] as const) {
  test(`${listener} listener: MQTT.js with MQTT 3.1, 3.1.1 and 5.0 round trips`, async ({ b, cert }) => {
    const path = scheme.startsWith('ws') ? '/mqtt' : ''
    const url = `${scheme}://127.0.0.1:${b.ports[listener]}${path}`
    const options = tlsOptions ? { ca: cert } : {}
    for (const v of [3, 4, 5] as const) assert.is(await roundTrip(url, v, options), `over-${scheme}-v${v}`)
  })
}

test('the WebSocket subprotocol is mqtt [MQTT-6.0.0-3] [MQTT-6.0.0-4]', async ({ b }) => {
  const ws = new WebSocket(`ws://127.0.0.1:${b.ports.ws}/mqtt`, 'mqtt')
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject) })
  assert.is(ws.protocol, 'mqtt')
  ws.close()
})

test('a WebSocket frame over limits.maxPacketSize is refused by maxPayload (close 1009); a frame at the limit is fine', async ({ b }) => {
  const open = async (): Promise<WebSocket> => {
    const ws = new WebSocket(`ws://127.0.0.1:${b.ports.ws}/mqtt`, 'mqtt')
    await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject) })
    return ws
  }
  const connectPacket = mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 30, clientId: 'ws-size' } as mqttPacket.Packet)
  const big = await open()
  const closed = new Promise<number>((resolve) => big.once('close', (code) => resolve(code)))
  big.send(connectPacket)
  big.send(Buffer.alloc(MAX_PACKET + 1))
  assert.is(await closed, 1009)
  const fine = await open()
  const acked = new Promise<Buffer>((resolve) => fine.once('message', (data) => resolve(data as Buffer)))
  fine.send(connectPacket)
  assert.is((await acked)[0], 0x20) // CONNACK
  const publish = mqttPacket.generate({ cmd: 'publish', topic: 'ws/size', payload: Buffer.alloc(MAX_PACKET - 20), qos: 0, retain: false, dup: false } as mqttPacket.Packet)
  assert.ok(publish.length <= MAX_PACKET)
  fine.send(publish)
  fine.send(mqttPacket.generate({ cmd: 'pingreq' } as mqttPacket.Packet))
  const pong = await new Promise<Buffer>((resolve) => fine.once('message', (data) => resolve(data as Buffer)))
  assert.is(pong[0], 0xd0) // PINGRESP: still connected after a frame at the limit
  fine.close()
})

test.run()
