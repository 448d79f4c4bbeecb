// Issue 9, bug 7: a 3.1.1 PUBLISH the ACL denies. 3.1.1 has no negative
// acknowledgement; [MQTT-3.3.5-2] lets the server either acknowledge it
// normally (dropping the message) or close the connection. edgemq's default
// (auth.deniedPublish: acknowledge) acknowledges and keeps the connection, so
// a device with a wrong topic is not sent into a reconnect loop that resends
// the same message. Debian's Mosquitto 2.0.11 acknowledges and then closes.
// Either way the denial is logged and counted (publishDenied).
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startBrokerInProcess, type InProcessBroker } from '../helpers/broker-process.ts'
import { MosquittoProcess } from '../helpers/mosquitto-process.ts'
import { RawMqtt } from '../helpers/raw-mqtt.ts'

const test = suite<{ b: InProcessBroker, strict: InProcessBroker }>('ACL-denied PUBLISH')
const ACL = 'acl: { rules: [ { allow: readwrite, topic: "ok/#" }, { allow: read, topic: "#" } ] }\n'
const LISTENER = 'listeners:\n  - { name: tcp, type: tcp, host: 127.0.0.1, port: 0 }\nsys: { interval: 0 }\n'

test.before(async (ctx) => {
  ctx.b = await startBrokerInProcess(LISTENER + ACL)
  ctx.strict = await startBrokerInProcess(LISTENER + ACL + 'auth: { deniedPublish: disconnect }\n')
})
test.after(async (ctx) => { await ctx.b?.stop(); await ctx.strict?.stop() })

/** Publishes to a denied topic at QoS 0, 1 and 2 on one 3.1.1 connection; returns what came back and what a subscriber saw. */
async function denied311 (port: number): Promise<{ acks: string[], open: boolean, delivered: number }> {
  const { c: sub } = await RawMqtt.connected(port, 4)
  sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'denied/#', qos: 2 }] })
  await sub.next('suback')
  const { c } = await RawMqtt.connected(port, 4)
  const acks: string[] = []
  c.send({ cmd: 'publish', topic: 'denied/a', payload: 'q0', qos: 0 })
  c.send({ cmd: 'publish', topic: 'denied/a', payload: 'q1', qos: 1, messageId: 1 })
  acks.push(`puback:${(await c.next('puback')).messageId as number}`)
  c.send({ cmd: 'publish', topic: 'denied/a', payload: 'q2', qos: 2, messageId: 2 })
  acks.push(`pubrec:${(await c.next('pubrec')).messageId as number}`)
  c.send({ cmd: 'pubrel', messageId: 2 })
  acks.push(`pubcomp:${(await c.next('pubcomp')).messageId as number}`)
  // a permitted message after them still goes through on the same connection
  c.send({ cmd: 'publish', topic: 'ok/after', payload: 'fine', qos: 1, messageId: 3 })
  acks.push(`puback:${(await c.next('puback')).messageId as number}`)
  const open = !(await c.nothing('publish', 300)) || !c.closed
  const delivered = sub.received.filter((p) => p.cmd === 'publish' && String(p.topic).startsWith('denied/')).length
  await c.disconnect(); await sub.disconnect()
  return { acks, open, delivered }
}

test('default: a 3.1.1 client\'s denied PUBLISH is acknowledged (PUBACK / PUBREC-PUBREL-PUBCOMP) and dropped; the connection stays; it is counted', async ({ b }) => {
  const before = b.broker.stats().publishDenied ?? 0
  const r = await denied311(b.port)
  assert.equal(r.acks, ['puback:1', 'pubrec:2', 'pubcomp:2', 'puback:3'])
  assert.ok(r.open)
  assert.is(r.delivered, 0, 'a denied message reached a subscriber')
  assert.is((b.broker.stats().publishDenied ?? 0) - before, 3)
})

test('auth.deniedPublish: disconnect closes a 3.1.1 client on a denied QoS 1 PUBLISH, without a PUBACK; counted too', async ({ strict }) => {
  const before = strict.broker.stats().publishDenied ?? 0
  const { c } = await RawMqtt.connected(strict.port, 4)
  c.send({ cmd: 'publish', topic: 'denied/x', payload: 'x', qos: 1, messageId: 1 })
  await c.closedByBroker()
  assert.is(c.received.filter((p) => p.cmd === 'puback').length, 0)
  assert.is((strict.broker.stats().publishDenied ?? 0) - before, 1)
})

test('5.0 is unchanged by the setting: PUBACK / PUBREC 0x87 and the connection stays', async ({ b, strict }) => {
  for (const broker of [b, strict]) {
    const { c } = await RawMqtt.connected(broker.port, 5)
    c.send({ cmd: 'publish', topic: 'denied/5', payload: 'x', qos: 1, messageId: 1 })
    assert.is((await c.next('puback')).reasonCode, 0x87)
    c.send({ cmd: 'publish', topic: 'denied/5', payload: 'x', qos: 2, messageId: 2 })
    assert.is((await c.next('pubrec')).reasonCode, 0x87)
    assert.not.ok(c.closed)
    await c.disconnect()
  }
})

test('mosquitto 2.0.11 (documented difference): a denied 3.1.1 PUBLISH gets its PUBACK / PUBREC and then the connection closes ("Bad socket read/write"); QoS 0 closes too', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'edgemq-acl-'))
  await writeFile(join(dir, 'acl'), 'topic readwrite ok/#\ntopic read #\n', { mode: 0o644 })
  await chmod(dir, 0o755) // mosquitto reads it as the mosquitto user
  const m = await MosquittoProcess.start({ extraConfig: `acl_file ${join(dir, 'acl')}` }).catch(async (err: Error) => { await rm(dir, { recursive: true, force: true }); throw err })
  try {
    const { c: sub } = await RawMqtt.connected(m.port, 4)
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'denied/#', qos: 2 }] })
    await sub.next('suback')
    const seen: string[] = []
    for (const qos of [0, 1, 2] as const) {
      const { c } = await RawMqtt.connected(m.port, 4)
      c.send({ cmd: 'publish', topic: 'denied/m', payload: 'x', qos, ...(qos > 0 ? { messageId: 7 } : {}) })
      await c.closedByBroker(5000)
      seen.push(`${qos}:${c.received.map((p) => p.cmd).join(',')}`)
    }
    assert.equal(seen, ['0:', '1:puback', '2:pubrec'])
    assert.is(sub.received.filter((p) => p.cmd === 'publish').length, 0)
    await sub.disconnect()
  } finally { await m.dispose(); await rm(dir, { recursive: true, force: true }) }
})

test.run()
