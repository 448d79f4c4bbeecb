// Issue 9, bug 6: CONNECT packets the spec says to refuse, and one it says to
// accept. Hand-built bytes (mqtt-packet would not generate most of these);
// each case also goes to Mosquitto 2.0.11 and its answer is asserted, so the
// documented differences (docs/mqtt5.md) are checked.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import net from 'node:net'
import { startBrokerInProcess, type InProcessBroker } from '../helpers/broker-process.ts'
import { MosquittoProcess } from '../helpers/mosquitto-process.ts'

const test = suite<{ b: InProcessBroker, m: MosquittoProcess }>('CONNECT validation')
const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

test.before(async (ctx) => {
  ctx.b = await startBrokerInProcess('listeners:\n  - { name: tcp, type: tcp, host: 127.0.0.1, port: 0 }\nsys: { interval: 0 }\n')
  ctx.m = await MosquittoProcess.start()
})
test.after(async (ctx) => { await ctx.b?.stop(); await ctx.m?.dispose() })

const str = (s: string): Buffer => { const b = Buffer.from(s); return Buffer.concat([Buffer.from([b.length >> 8, b.length & 255]), b]) }
const vbi = (n: number): Buffer => { const out: number[] = []; do { let d = n % 128; n = Math.floor(n / 128); if (n > 0) d |= 128; out.push(d) } while (n > 0); return Buffer.from(out) }
let n = 0
const id = (): Buffer => str(`cv-${process.pid}-${++n}`)
/** CONNECT bytes: protocol name and level, connect flags, keepalive 60, v5 properties, then the payload fields as given. */
function connect (o: { level?: number, name?: string, flags: number, props?: Buffer, payload: Buffer[] }): Buffer {
  const props = o.props ?? Buffer.alloc(0)
  const vh = Buffer.concat([str(o.name ?? 'MQTT'), Buffer.from([o.level ?? 4, o.flags, 0, 60]), o.level === 5 ? Buffer.concat([vbi(props.length), props]) : Buffer.alloc(0)])
  const body = Buffer.concat([vh, ...o.payload])
  return Buffer.concat([Buffer.from([0x10]), vbi(body.length), body])
}
const maxPacketSize = (size: number): Buffer => Buffer.from([0x27, size >>> 24, (size >>> 16) & 255, (size >>> 8) & 255, size & 255])
const NO_PROPS = Buffer.from([0])

/** Sends the bytes on a new connection; returns the first byte pair of the answer ('' when none) and whether the broker closed. */
async function answer (port: number, bytes: Buffer): Promise<{ head: string, closed: boolean }> {
  const s = net.connect(port, '127.0.0.1')
  await new Promise((resolve, reject) => { s.once('connect', resolve); s.once('error', reject) })
  let got = Buffer.alloc(0)
  let closed = false
  s.on('data', (d: Buffer) => { got = Buffer.concat([got, d]) })
  s.on('close', () => { closed = true })
  s.on('error', () => {})
  s.write(bytes)
  for (let waited = 0; waited < 1500 && !closed; waited += 50) await sleep(50)
  s.destroy()
  // CONNACK: 20 LL flags code (3.1.1: code is byte 3; 5.0: reason code is byte 3 too)
  return { head: got.length >= 4 ? `${got.toString('hex', 0, 1)}:${got[3].toString(16).padStart(2, '0')}` : got.toString('hex'), closed }
}

const OK = { head: '20:00', closed: false }
const CLOSED = { head: '', closed: true }
const CASES: Array<{ name: string, bytes: () => Buffer, edgemq: { head: string, closed: boolean }, mosquitto: { head: string, closed: boolean } }> = [
  { name: '3.1.1 will QoS 3 [MQTT-3.1.2-14]', bytes: () => connect({ flags: 0x1e, payload: [id(), str('t'), str('m')] }), edgemq: CLOSED, mosquitto: CLOSED },
  { name: '5.0 will QoS 3 [MQTT-3.1.2-12]: CONNACK 0x81', bytes: () => connect({ level: 5, flags: 0x1e, payload: [id(), NO_PROPS, str('t'), str('m')] }), edgemq: { head: '20:81', closed: true }, mosquitto: CLOSED },
  { name: '3.1.1 a user name present without its flag [MQTT-3.1.2-18]', bytes: () => connect({ flags: 0x02, payload: [id(), str('u')] }), edgemq: CLOSED, mosquitto: CLOSED },
  { name: '3.1.1 a user name and password present without their flags [MQTT-3.1.2-18] [MQTT-3.1.2-20]', bytes: () => connect({ flags: 0x02, payload: [id(), str('u'), str('p')] }), edgemq: CLOSED, mosquitto: CLOSED },
  { name: '3.1.1 a password present without its flag [MQTT-3.1.2-20]', bytes: () => connect({ flags: 0x82, payload: [id(), str('u'), str('p')] }), edgemq: CLOSED, mosquitto: CLOSED },
  { name: '3.1.1 the password flag without the user name flag [MQTT-3.1.2-22]', bytes: () => connect({ flags: 0x42, payload: [id(), str('p')] }), edgemq: CLOSED, mosquitto: CLOSED },
  { name: '5.0 a user name present without its flag [MQTT-3.1.2-16]: CONNACK 0x81', bytes: () => connect({ level: 5, flags: 0x02, payload: [id(), str('u')] }), edgemq: { head: '20:81', closed: true }, mosquitto: CLOSED },
  { name: '5.0 a password without a user name is allowed (5.0 dropped [MQTT-3.1.2-22])', bytes: () => connect({ level: 5, flags: 0x42, payload: [id(), str('p')] }), edgemq: OK, mosquitto: OK },
  { name: '5.0 Maximum Packet Size 0 is a protocol error: CONNACK 0x82', bytes: () => connect({ level: 5, flags: 0x02, props: maxPacketSize(0), payload: [id()] }), edgemq: { head: '20:82', closed: true }, mosquitto: CLOSED },
  { name: '5.0 Session Expiry Interval twice is a protocol error: CONNACK 0x82 (aedes crashed the process on it)', bytes: () => connect({ level: 5, flags: 0x02, props: Buffer.from('110000000511000000 05'.replace(/ /g, ''), 'hex'), payload: [id()] }), edgemq: { head: '20:82', closed: true }, mosquitto: { head: '', closed: true } },
  { name: '5.0 Maximum Packet Size 5, smaller than the CONNACK: closed without one [MQTT-3.1.2-24]', bytes: () => connect({ level: 5, flags: 0x02, props: maxPacketSize(5), payload: [id()] }), edgemq: CLOSED, mosquitto: CLOSED },
  { name: '5.0 Maximum Packet Size 64 is enough', bytes: () => connect({ level: 5, flags: 0x02, props: maxPacketSize(64), payload: [id()] }), edgemq: OK, mosquitto: OK },
  { name: 'protocol level 6: CONNACK 0x01 (unacceptable protocol version) then close [MQTT-3.1.2-2]', bytes: () => connect({ level: 6, flags: 0x02, payload: [id()] }), edgemq: { head: '20:01', closed: true }, mosquitto: { head: '20:01', closed: true } },
  { name: 'protocol level 0: CONNACK 0x01 then close [MQTT-3.1.2-2]', bytes: () => connect({ level: 0, flags: 0x02, payload: [id()] }), edgemq: { head: '20:01', closed: true }, mosquitto: { head: '20:01', closed: true } },
  { name: '3.1.1 an empty user name on a listener that allows anonymous clients is accepted', bytes: () => connect({ flags: 0x82, payload: [id(), str('')] }), edgemq: OK, mosquitto: OK },
  { name: '3.1.1 an empty user name with a password on that listener is accepted', bytes: () => connect({ flags: 0xc2, payload: [id(), str(''), str('p')] }), edgemq: OK, mosquitto: OK },
  { name: '5.0 an empty user name on that listener is accepted', bytes: () => connect({ level: 5, flags: 0x82, payload: [id(), str('')] }), edgemq: OK, mosquitto: OK }
]

for (const c of CASES) {
  test(`edgemq: ${c.name}`, async ({ b }) => {
    assert.equal(await answer(b.port, c.bytes()), c.edgemq)
  })
}

test('edgemq: the broker still serves after every CONNECT above', async ({ b }) => {
  assert.equal(await answer(b.port, connect({ flags: 0x02, payload: [id()] })), OK)
})

test('mosquitto 2.0.11 answers the same CONNECTs as docs/mqtt5.md says', async ({ m }) => {
  for (const c of CASES) assert.equal(await answer(m.port, c.bytes()), c.mosquitto, c.name)
})

test.run()
