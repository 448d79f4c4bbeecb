// What plain aedes 2.0.0-beta.1 (no edgemq, no shims) still gets wrong, each
// gap closed by src/engine/install-v5-shims.ts (one override per file in src/engine/) and listed in docs/mqtt5.md.
// These tests assert the gap: when one fails after an aedes upgrade, aedes
// fixed it, and the matching shim (and this test) can go.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { join } from 'node:path'
import { REPO_ROOT } from '../helpers/broker-process.ts'
import { RawMqtt } from '../helpers/raw-mqtt.ts'
import { startTool, type ToolProcess } from '../helpers/tool-process.ts'

const test = suite<{ aedes: ToolProcess, port: number }>('plain aedes 2.0.0-beta.1 gaps')
const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))
const FIXTURE = join(REPO_ROOT, 'test/e2e/fixtures/plain-aedes.mjs')

async function startPlainAedes (): Promise<{ aedes: ToolProcess, port: number }> {
  const aedes = startTool(process.execPath, [FIXTURE])
  const line = await aedes.waitForLine(/^PORT \d+$/, 10_000)
  return { aedes, port: Number(line.split(' ')[1]) }
}

test.before(async (ctx) => { Object.assign(ctx, await startPlainAedes()) })
test.after(async (ctx) => { await ctx.aedes?.stop() })

test('a v5 PUBLISH with a Response Topic property missing its string kills the aedes process', async () => {
  const own = await startPlainAedes() // its own process: this one dies
  try {
    const { c } = await RawMqtt.connected(own.port, 5)
    c.write('3006000161010800')
    const code = await own.aedes.exited(5000)
    assert.ok(code !== 0, `aedes survived (exit ${String(code)}): the crash guard in the shim may be unneeded now`)
    assert.match(own.aedes.stderr(), /TypeError/)
  } finally { await own.aedes.stop() }
})

test('$share subscriptions are refused with 0x9E and CONNACK says shared subscriptions are unavailable', async ({ port }) => {
  const { c, connack } = await RawMqtt.connected(port, 5)
  assert.is(connack.properties?.sharedSubscriptionAvailable, false)
  c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '$share/g/t', qos: 0 }] })
  assert.equal((await c.next('suback')).granted, [0x9E])
  await c.disconnect()
})

test('the client\'s Receive Maximum is not enforced', async ({ port }) => {
  const { c: s } = await RawMqtt.connected(port, 5, { properties: { receiveMaximum: 2 } })
  s.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'gap/rm', qos: 1 }] }); await s.next('suback')
  const { c: p } = await RawMqtt.connected(port, 5)
  for (let i = 1; i <= 5; i++) p.send({ cmd: 'publish', topic: 'gap/rm', payload: 'x', qos: 1, messageId: i })
  await sleep(400)
  assert.ok(s.received.filter((x) => x.cmd === 'publish').length > 2, 'aedes now keeps to Receive Maximum')
  await s.disconnect(); await p.disconnect()
})

test('the client\'s Maximum Packet Size is not honoured on delivery', async ({ port }) => {
  const { c: s } = await RawMqtt.connected(port, 5, { properties: { maximumPacketSize: 64 } })
  s.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'gap/mps', qos: 0 }] }); await s.next('suback')
  const { c: p } = await RawMqtt.connected(port, 5)
  p.send({ cmd: 'publish', topic: 'gap/mps', payload: Buffer.alloc(200), qos: 0 })
  assert.is((await s.next('publish')).payload.length, 200)
  await s.disconnect(); await p.disconnect()
})

test('a wildcard subscription gets messages above its granted QoS', async ({ port }) => {
  const { c: s } = await RawMqtt.connected(port, 4)
  s.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'gap/q/#', qos: 1 }] }); await s.next('suback')
  const { c: p } = await RawMqtt.connected(port, 4)
  p.send({ cmd: 'publish', topic: 'gap/q/x', payload: 'x', qos: 2, messageId: 1 })
  await p.next('pubrec'); p.send({ cmd: 'pubrel', messageId: 1 }); await p.next('pubcomp')
  assert.is((await s.next('publish')).qos, 2)
  await s.disconnect(); await p.disconnect()
})

test('a re-sent PUBLISH on reconnect has DUP=0', async ({ port }) => {
  const { c: s } = await RawMqtt.connected(port, 4, { clientId: 'gap-dup', clean: false })
  s.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'gap/dup', qos: 1 }] }); await s.next('suback')
  const { c: p } = await RawMqtt.connected(port, 4)
  p.send({ cmd: 'publish', topic: 'gap/dup', payload: 'x', qos: 1, messageId: 1 }); await p.next('puback')
  await s.next('publish')
  s.destroy()
  await sleep(100)
  const { c: back } = await RawMqtt.connected(port, 4, { clientId: 'gap-dup', clean: false })
  const again = await back.next('publish')
  assert.is(again.dup, false)
  back.send({ cmd: 'puback', messageId: again.messageId })
  await back.disconnect(); await p.disconnect()
})

test('Clean Start 0 with Session Expiry 0 drops the queued messages of the resumed session', async ({ port }) => {
  const { c: s } = await RawMqtt.connected(port, 5, { clientId: 'gap-resume', properties: { sessionExpiryInterval: 60 } })
  s.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'gap/resume', qos: 1 }] }); await s.next('suback')
  await s.disconnect()
  const { c: p } = await RawMqtt.connected(port, 5)
  p.send({ cmd: 'publish', topic: 'gap/resume', payload: 'queued', qos: 1, messageId: 1 }); await p.next('puback')
  const { c: back, connack } = await RawMqtt.connected(port, 5, { clientId: 'gap-resume', clean: false, properties: { sessionExpiryInterval: 0 } })
  assert.is(connack.sessionPresent, true)
  assert.ok(await back.nothing('publish', 500), 'aedes now delivers the queue')
  await back.disconnect(); await p.disconnect()
})

test.run()
