// Issue 9, bug 1: with the DEFAULT config (no limits section) every keepalive
// the spec allows is accepted, as Mosquitto 2.0's default does: 0 means "no
// keepalive" [MQTT-3.1.2-10] and is what many devices and test suites send.
// The SlowITe defence (CVE-2020-13849) is then TCP keepalive probes on every
// accepted socket, checked here in the kernel's own socket table, plus the
// connection caps; the CONNACK 2 refusal is the opt-in limits.keepaliveStrict.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync } from 'node:fs'
import { startBrokerInProcess, type InProcessBroker } from '../helpers/broker-process.ts'
import { RawMqtt } from '../helpers/raw-mqtt.ts'

const test = suite<{ b: InProcessBroker, strict: InProcessBroker }>('keepalive at the default config')

test.before(async (ctx) => {
  ctx.b = await startBrokerInProcess('listeners:\n  - { name: tcp, type: tcp, host: 127.0.0.1, port: 0 }\n')
  ctx.strict = await startBrokerInProcess('listeners:\n  - { name: tcp, type: tcp, host: 127.0.0.1, port: 0 }\nlimits: { keepaliveMax: 120, keepaliveStrict: true }\n')
})
test.after(async (ctx) => { await ctx.b?.stop(); await ctx.strict?.stop() })

test('3.1.1 and 3.1 CONNECT with keepalive 0 get CONNACK 0 [MQTT-3.1.2-10]', async ({ b }) => {
  for (const version of [4, 3] as const) {
    const { c, connack } = await RawMqtt.connected(b.port, version, { keepalive: 0 })
    assert.is(connack.returnCode, 0, `protocol level ${version}`)
    // the connection works: a round trip through the broker
    c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: `ka0/${version}`, qos: 1 }] })
    assert.equal((await c.next('suback')).granted, [1])
    c.send({ cmd: 'publish', topic: `ka0/${version}`, payload: 'x', qos: 1, messageId: 2 })
    assert.is((await c.next('publish')).payload.toString(), 'x')
    await c.disconnect()
  }
})

test('3.1.1 CONNECT with the largest keepalive (65535) gets CONNACK 0', async ({ b }) => {
  const { c, connack } = await RawMqtt.connected(b.port, 4, { keepalive: 65_535 })
  assert.is(connack.returnCode, 0)
  await c.disconnect()
})

test('5.0 CONNECT with keepalive 0 is accepted', async ({ b }) => {
  const { c, connack } = await RawMqtt.connected(b.port, 5, { keepalive: 0 })
  assert.is(connack.reasonCode, 0)
  await c.disconnect()
})

test('every accepted socket has TCP keepalive probes armed within 60 s (the kernel\'s socket table says so)', async ({ b }) => {
  const { c, connack } = await RawMqtt.connected(b.port, 4, { keepalive: 0 })
  assert.is(connack.returnCode, 0)
  const row = serverSideSocket(b.port, c.socket.localPort ?? 0)
  assert.ok(row !== undefined, 'the broker\'s end of the connection is not in /proc/net/tcp')
  // /proc/net/tcp "tr": 2 = the keepalive timer is running (0 = no timer at all);
  // "tm->when" in jiffies-as-seconds is the time left until the first probe.
  assert.is(row.timer, 2, `no keepalive timer on the accepted socket (tr=${row.timer})`)
  assert.ok(row.whenSeconds <= 60, `first probe in ${row.whenSeconds} s, want <= 60`)
  await c.disconnect()
})

test('opt-in limits.keepaliveStrict: 3.1.1 keepalive 0 or above keepaliveMax gets CONNACK 2 [MQTT-3.2.2-4]', async ({ strict }) => {
  for (const keepalive of [0, 121]) {
    const { c, connack } = await RawMqtt.connected(strict.port, 4, { keepalive })
    assert.is(connack.returnCode, 2, `keepalive ${keepalive}`)
    await c.closedByBroker()
  }
  const { c, connack } = await RawMqtt.connected(strict.port, 4, { keepalive: 60 })
  assert.is(connack.returnCode, 0)
  await c.disconnect()
})

/** The row of /proc/net/tcp (or tcp6) for local port `port` talking to remote port `peer`. */
function serverSideSocket (port: number, peer: number): { timer: number, whenSeconds: number } | undefined {
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string
    try { text = readFileSync(file, 'utf8') } catch { continue }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/)
      if (f.length < 6) continue
      const local = parseInt(f[1].split(':')[1], 16)
      const remote = parseInt(f[2].split(':')[1], 16)
      if (local !== port || remote !== peer) continue
      const [tr, when] = f[5].split(':')
      return { timer: parseInt(tr, 16), whenSeconds: parseInt(when, 16) / 100 }
    }
  }
  return undefined
}

test.run()
