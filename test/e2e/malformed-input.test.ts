// Malformed input closes only the connection that sent it (with the MQTT 5
// reason code where there is one), never the broker process: after every case
// a well-behaved client still does a full round trip and the process is alive.
// Runs against the real CLI process so a crash is a crash, not a test error.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { startBrokerProcess, type BrokerProcessHandle } from '../helpers/broker-process.ts'
import { RawMqtt } from '../helpers/raw-mqtt.ts'

const test = suite<{ b: BrokerProcessHandle }>('malformed input')

test.before(async (ctx) => {
  ctx.b = await startBrokerProcess({ config: 'listeners:\n  - { name: tcp, type: tcp, port: 0 }\nlimits: { connectTimeout: 1s, maxPacketSize: 64KB }\nsys: { interval: 0 }\n' })
})
test.after(async (ctx) => { await ctx.b.stop() })

/** The broker is alive and serves a normal client end to end. */
async function assertHealthy (b: BrokerProcessHandle): Promise<void> {
  assert.not.throws(() => process.kill(b.pid, 0), 'the broker process died')
  const { c: s } = await RawMqtt.connected(b.port, 4)
  s.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'health/t', qos: 1 }] })
  await s.next('suback')
  const { c: p } = await RawMqtt.connected(b.port, 5)
  p.send({ cmd: 'publish', topic: 'health/t', payload: 'ok', qos: 1, messageId: 1 })
  await p.next('puback')
  assert.is((await s.next('publish')).payload.toString(), 'ok')
  await s.disconnect(); await p.disconnect()
  assert.not.match(b.stderr(), /Uncaught|TypeError|RangeError/)
}

/** Opens a connection, optionally CONNECTs (v4 or v5), sends the bytes, and expects the broker to close it. */
async function expectClosed (b: BrokerProcessHandle, hex: string, connectFirst?: 4 | 5): Promise<RawMqtt> {
  let c: RawMqtt
  if (connectFirst !== undefined) {
    c = (await RawMqtt.connected(b.port, connectFirst)).c
  } else {
    c = await RawMqtt.open(b.port, 5)
  }
  c.write(hex)
  await c.closedByBroker(4000)
  return c
}

const CONNECT_V4 = '100d00044d5154540402003c000178' // clean, keepalive 60, client id "x"

test('a 5-byte Remaining Length (over the 4-byte maximum) closes the connection [MQTT-2.2.3]', async ({ b }) => {
  await expectClosed(b, '30ffffffff01')
  await expectClosed(b, '30ffffffff7f', 4)
  await assertHealthy(b)
})

test('a declared length over limits.maxPacketSize closes before the payload is buffered', async ({ b }) => {
  const c = await expectClosed(b, '30ffff7f0001', 5) // ~2 MB declared, 3 bytes sent
  const d = c.received.find((p) => p.cmd === 'disconnect')
  if (d !== undefined) assert.is(d.reasonCode, 0x95)
  await assertHealthy(b)
})

test('ill-formed UTF-8 and U+0000 in a topic name close the connection [MQTT-1.5.4-1] [MQTT-1.5.4-2]', async ({ b }) => {
  await expectClosed(b, '3006' + '0002c328' + '7878', 4) // topic bytes C3 28
  await expectClosed(b, '3006' + '00026100' + '7878', 4) // topic "a\0"
  await expectClosed(b, '3007' + '0003eda080' + '7878', 4) // the surrogate U+D800 encoded as UTF-8
  await assertHealthy(b)
})

test('v5: U+0000 or ill-formed UTF-8 in a topic gets DISCONNECT 0x81, a wildcard in a topic name 0x90 [MQTT-3.3.2-2]', async ({ b }) => {
  const cases = [
    ['3006000261000078', 0x81], // PUBLISH topic "a\0"
    ['3006000261ff0078', 0x81], // PUBLISH topic "a" + 0xFF
    ['300500012b0078', 0x90], // PUBLISH topic "+"
    ['82080001000002610000', 0x81] // SUBSCRIBE filter "a\0"
  ] as const
  for (const [hex, reason] of cases) {
    const c = await expectClosed(b, hex, 5)
    const d = c.received.find((p) => p.cmd === 'disconnect')
    assert.ok(d !== undefined, `no DISCONNECT for ${hex}`)
    assert.is(d.reasonCode, reason, hex)
  }
  await assertHealthy(b)
})

test('ill-formed UTF-8 or U+0000 in a client id is refused [MQTT-1.5.4-1] [MQTT-1.5.4-2]', async ({ b }) => {
  for (const id of ['c328', '6100']) {
    const c = await expectClosed(b, '100e00044d5154540402003c0002' + id)
    const ack = c.received.find((p) => p.cmd === 'connack')
    if (ack !== undefined) assert.ok((ack.reasonCode ?? ack.returnCode) !== 0, 'accepted a bad client id')
  }
  await assertHealthy(b)
})

test('wildcards in a PUBLISH topic close the connection [MQTT-3.3.2-2]', async ({ b }) => {
  await expectClosed(b, '3005' + '0001' + '23' + '7878', 4) // "#"
  await expectClosed(b, '3007' + '0003' + '612b62' + '7878', 4) // "a+b"
  await assertHealthy(b)
})

test('any packet before CONNECT closes the connection [MQTT-3.1.0-1]', async ({ b }) => {
  await expectClosed(b, '8206000100016100') // SUBSCRIBE
  await expectClosed(b, 'c000') // PINGREQ
  await expectClosed(b, '3003000161') // PUBLISH
  await assertHealthy(b)
})

test('a second CONNECT closes the connection [MQTT-3.1.0-2]', async ({ b }) => {
  await expectClosed(b, CONNECT_V4, 4)
  await assertHealthy(b)
})

test('a topic with more than 100 levels is refused', async ({ b }) => {
  const topic = Buffer.from(Array.from({ length: 101 }, () => 'a').join('/'))
  const len = Buffer.alloc(2); len.writeUInt16BE(topic.length)
  const body = Buffer.concat([len, topic, Buffer.from('x')])
  const header = Buffer.from([0x30, 0x80 | (body.length & 0x7f), body.length >> 7])
  await expectClosed(b, Buffer.concat([header, body]).toString('hex'), 4)
  await assertHealthy(b)
})

test('reserved packet types 0 and 15 and wrong fixed-header flags close the connection [MQTT-2.2.2-2]', async ({ b }) => {
  await expectClosed(b, '0000', 4)
  await expectClosed(b, 'f000', 4)
  await expectClosed(b, '8006000100016100', 4) // SUBSCRIBE with flags 0000 instead of 0010 [MQTT-3.8.1-1]
  await expectClosed(b, '60020001', 4) // PUBREL with flags 0000 [MQTT-3.6.1-1]
  await expectClosed(b, '3603000161', 4) // PUBLISH with QoS 3 [MQTT-3.3.1-4]
  await assertHealthy(b)
})

test('the aedes #612 26-byte vector closes only its connection', async ({ b }) => {
  await expectClosed(b, '101000044d5154540502003c0321001400006202d301e0020020')
  await assertHealthy(b)
})

test('a v5 PUBLISH with a Response Topic property missing its string gets DISCONNECT 0x81 (it crashed plain aedes)', async ({ b }) => {
  const c = await expectClosed(b, '3006000161010800', 5)
  const d = c.received.find((p) => p.cmd === 'disconnect')
  assert.ok(d !== undefined, 'no DISCONNECT before the close')
  assert.is(d.reasonCode, 0x81)
  await expectClosed(b, '32080001610001010900', 5) // QoS 1, Correlation Data without its bytes
  await assertHealthy(b)
})

test('a v5 CONNECT whose will properties are malformed is refused', async ({ b }) => {
  // CONNECT v5, will flag, props 0, will props length 1: 0x08 (Response Topic) with no string
  await expectClosed(b, '101500044d5154540506003c00000178' + '0108' + '000161' + '0000')
  await assertHealthy(b)
})

test('truncated packets: a CONNECT that never completes is closed after connectTimeout; a half PUBLISH then EOF leaves no trace', async ({ b }) => {
  const c = await RawMqtt.open(b.port, 4)
  c.write(CONNECT_V4.slice(0, 14))
  await c.closedByBroker(4000)
  const { c: d } = await RawMqtt.connected(b.port, 4)
  d.write('301000056869676874') // declares 16 bytes, sends 7
  d.socket.end()
  await d.closedByBroker()
  await assertHealthy(b)
})

test.run()
