// A small seeded mutation fuzz against the broker process: valid MQTT 3.1.1 and
// 5.0 packets (with v5 properties, where aedes was seen to crash) are mutated
// (bit flips, byte swaps, truncation, insertion, length tweaks) and sent on
// fresh connections. The broker must survive every one and keep serving.
// EDGEMQ_FUZZ_COUNT (default 2000) and EDGEMQ_FUZZ_SEED (default 612) reproduce a run.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { connect } from 'node:net'
import mqttPacket from 'mqtt-packet'
import { startBrokerProcess, type BrokerProcessHandle } from '../helpers/broker-process.ts'
import { RawMqtt } from '../helpers/raw-mqtt.ts'

const COUNT = Number(process.env.EDGEMQ_FUZZ_COUNT ?? 2000)
const SEED = Number(process.env.EDGEMQ_FUZZ_SEED ?? 612)
const PARALLEL = 16

/** mulberry32: a tiny deterministic PRNG, so a failing seed can be replayed. */
function prng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const gen = (p: Record<string, unknown>, v: 4 | 5): Buffer => mqttPacket.generate(p as unknown as mqttPacket.Packet, { protocolVersion: v })
const props = { payloadFormatIndicator: true, messageExpiryInterval: 30, contentType: 'text/plain', responseTopic: 'r/t', correlationData: Buffer.from('cd'), userProperties: { a: 'b' }, topicAlias: 1 }
const connects: Record<4 | 5, Buffer> = {
  4: gen({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 30, clientId: 'fuzz4' }, 4),
  5: gen({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clean: true, keepalive: 30, clientId: 'fuzz5', properties: { sessionExpiryInterval: 0, receiveMaximum: 10, maximumPacketSize: 4096, topicAliasMaximum: 4 } }, 5)
}
const CORPUS: Array<{ v: 4 | 5, connectFirst: boolean, bytes: Buffer }> = [
  { v: 4, connectFirst: false, bytes: connects[4] },
  { v: 5, connectFirst: false, bytes: connects[5] },
  { v: 5, connectFirst: false, bytes: gen({ cmd: 'connect', protocolVersion: 5, clean: true, keepalive: 30, clientId: 'w', will: { topic: 'w/t', payload: Buffer.from('bye'), qos: 1, retain: false, properties: { willDelayInterval: 1, contentType: 'x', responseTopic: 'r', correlationData: Buffer.from('c') } } }, 5) },
  { v: 4, connectFirst: true, bytes: gen({ cmd: 'publish', topic: 'f/a', payload: 'hello', qos: 1, messageId: 3 }, 4) },
  { v: 5, connectFirst: true, bytes: gen({ cmd: 'publish', topic: 'f/b', payload: 'hello', qos: 1, messageId: 3, properties: props }, 5) },
  { v: 5, connectFirst: true, bytes: gen({ cmd: 'publish', topic: 'f/c', payload: 'x', qos: 2, messageId: 4, retain: true, properties: { responseTopic: 'r', correlationData: Buffer.from('c'), subscriptionIdentifier: 3 } }, 5) },
  { v: 5, connectFirst: true, bytes: gen({ cmd: 'subscribe', messageId: 5, properties: { subscriptionIdentifier: 9, userProperties: { k: 'v' } }, subscriptions: [{ topic: 'f/+', qos: 1, nl: true, rap: true, rh: 1 }, { topic: '$share/g/f/#', qos: 2 }] }, 5) },
  { v: 4, connectFirst: true, bytes: gen({ cmd: 'subscribe', messageId: 5, subscriptions: [{ topic: 'f/#', qos: 2 }] }, 4) },
  { v: 5, connectFirst: true, bytes: gen({ cmd: 'unsubscribe', messageId: 6, properties: { userProperties: { k: 'v' } }, unsubscriptions: ['f/+', '$share/g/f/#'] }, 5) },
  { v: 5, connectFirst: true, bytes: gen({ cmd: 'pubrel', messageId: 4, reasonCode: 0, properties: { reasonString: 'ok' } }, 5) },
  { v: 5, connectFirst: true, bytes: gen({ cmd: 'puback', messageId: 4, reasonCode: 0x10, properties: { reasonString: 'none' } }, 5) },
  { v: 5, connectFirst: true, bytes: gen({ cmd: 'disconnect', reasonCode: 4, properties: { sessionExpiryInterval: 10, reasonString: 'bye' } }, 5) },
  { v: 5, connectFirst: true, bytes: gen({ cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'm', authenticationData: Buffer.from('d') } }, 5) }
]

/** One mutation of a packet, chosen by the PRNG. */
function mutate (bytes: Buffer, rnd: () => number): Buffer {
  const out = Buffer.from(bytes)
  const pos = (): number => Math.floor(rnd() * out.length)
  switch (Math.floor(rnd() * 7)) {
    case 0: { const i = pos(); out[i] ^= 1 << Math.floor(rnd() * 8); return out }
    case 1: { const i = pos(); out[i] = Math.floor(rnd() * 256); return out }
    case 2: return out.subarray(0, Math.max(1, pos()))
    case 3: { const i = pos(); return Buffer.concat([out.subarray(0, i), Buffer.from([Math.floor(rnd() * 256)]), out.subarray(i)]) }
    case 4: { out[1] = Math.floor(rnd() * 256); return out } // the remaining length
    case 5: { // a property identifier replaced (properties follow the variable header in v5)
      const i = Math.min(out.length - 1, 2 + Math.floor(rnd() * Math.min(12, out.length)))
      out[i] = [0x01, 0x02, 0x03, 0x08, 0x09, 0x0b, 0x11, 0x15, 0x16, 0x1f, 0x23, 0x26, 0x00, 0x7f][Math.floor(rnd() * 14)]
      return out
    }
    default: { const n = 1 + Math.floor(rnd() * 4); for (let k = 0; k < n; k++) { const i = pos(); out[i] ^= Math.floor(rnd() * 256) } return out }
  }
}

async function sendOne (port: number, prefix: Buffer | undefined, bytes: Buffer): Promise<void> {
  await new Promise<void>((resolve) => {
    const s = connect(port, '127.0.0.1', () => {
      if (prefix !== undefined) s.write(prefix)
      s.write(bytes)
      // Give the broker a moment to parse, then hang up either way.
      setTimeout(() => s.destroy(), 40)
    })
    s.on('error', () => {})
    s.on('close', () => resolve())
  })
}

async function healthy (b: BrokerProcessHandle): Promise<void> {
  assert.not.throws(() => process.kill(b.pid, 0), 'the broker process died')
  const { c: s } = await RawMqtt.connected(b.port, 5)
  s.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'fuzz/health', qos: 1 }] })
  await s.next('suback')
  s.send({ cmd: 'publish', topic: 'fuzz/health', payload: 'ok', qos: 1, messageId: 2 })
  assert.is((await s.next('publish')).payload.toString(), 'ok')
  await s.disconnect()
}

test(`the broker survives ${COUNT} mutated packets (seed ${SEED}) and keeps serving`, async () => {
  const b = await startBrokerProcess({ config: 'listeners:\n  - { name: tcp, type: tcp, port: 0 }\nlimits: { connectTimeout: 1s, maxPacketSize: 64KB }\nsys: { interval: 0 }\n' })
  try {
    const rnd = prng(SEED)
    const cases = Array.from({ length: COUNT }, () => {
      const base = CORPUS[Math.floor(rnd() * CORPUS.length)]
      return { prefix: base.connectFirst ? connects[base.v] : undefined, bytes: mutate(base.bytes, rnd) }
    })
    for (let start = 0; start < cases.length; start += PARALLEL * 16) {
      const batch = cases.slice(start, start + PARALLEL * 16)
      for (let i = 0; i < batch.length; i += PARALLEL) {
        await Promise.all(batch.slice(i, i + PARALLEL).map(async (c) => await sendOne(b.port, c.prefix, c.bytes)))
      }
      await healthy(b)
    }
    await healthy(b)
    assert.not.match(b.stderr(), /Uncaught|TypeError|RangeError|FATAL/, 'the broker logged a crash')
  } finally {
    await b.stop()
  }
})

test.run()
