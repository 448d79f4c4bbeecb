// Issue 9, "done means": with the DEFAULT config (no config file at all: the
// built bundle started as `edgemq start -p PORT --data DIR`), the clients that
// Mosquitto's default accepts connect and work: mosquitto_pub/sub -V 31, 311
// and 5; MQTT.js protocol 3, 4 and 5 with keepalive 0 and 60; paho-mqtt 3.1.1
// and 5 with keepalive 0 and 60; a raw client with keepalive 0. Before issue 9
// every 3.1.1 client with keepalive 0 got CONNACK 2 here.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt from 'mqtt'
import { REPO_ROOT, requirePaho, requireTool } from '../helpers/broker-process.ts'
import { freePort } from '../helpers/mosquitto-process.ts'
import { RawMqtt } from '../helpers/raw-mqtt.ts'
import { runTool, startTool, type ToolProcess } from '../helpers/tool-process.ts'

const test = suite<{ dir: string, child: ChildProcess, port: number, log: () => string }>('interop at the default config (built bundle, no config file)')
const PAHO = join(REPO_ROOT, 'test/e2e/fixtures/paho-client.py')
let n = 0
const topicBase = (): string => `dc/${process.pid}/${++n}`

test.before(async (ctx) => {
  ctx.dir = await mkdtemp(join(tmpdir(), 'edgemq-default-'))
  const built = spawnSync(process.execPath, [join(REPO_ROOT, 'build.mjs'), '--outdir', join(ctx.dir, 'dist'), '--arch', 'x64', '--quiet'], { cwd: REPO_ROOT, encoding: 'utf8' })
  if (built.status !== 0) throw new Error(`build failed: ${built.stderr}`)
  ctx.port = await freePort()
  // No -c: the embedded defaults (loopback listener, anonymous there, default limits).
  const child = spawn(process.execPath, [join(ctx.dir, 'dist/edgemq.mjs'), 'start', '-p', String(ctx.port), '--data', join(ctx.dir, 'data')], { cwd: ctx.dir, env: { ...process.env, EDGEMQ_NO_REEXEC: '1' }, stdio: ['ignore', 'ignore', 'pipe'] })
  ctx.child = child
  let log = ''
  ctx.log = () => log
  child.stderr!.setEncoding('utf8')
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line in 20 s:\n${log}`)), 20_000)
    child.stderr!.on('data', (d: string) => { log += d; if (/listening/.test(log)) { clearTimeout(timer); resolve() } })
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`edgemq exited ${String(code)}:\n${log}`)) })
  })
})
test.after(async (ctx) => {
  if (ctx.child !== undefined && ctx.child.exitCode === null) {
    const exited = new Promise((resolve) => ctx.child.once('exit', resolve))
    ctx.child.kill('SIGTERM')
    const t = setTimeout(() => ctx.child.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(t)
  }
  if (ctx.dir !== undefined) await rm(ctx.dir, { recursive: true, force: true })
})

/** mosquitto_sub on base/# that has demonstrably subscribed (a sync message came through). */
async function mosquittoSub (port: number, base: string, version: string, keepalive: string): Promise<ToolProcess> {
  const sub = startTool(requireTool('mosquitto_sub', 'mosquitto-clients'), ['-h', '127.0.0.1', '-p', String(port), '-V', version, '-k', keepalive, '-q', '1', '-t', `${base}/#`, '-F', '%t|%p|%q'])
  const deadline = Date.now() + 8000
  while (!sub.lines().some((l) => l.startsWith(`${base}/sync|`))) {
    if (Date.now() > deadline) { await sub.stop(); throw new Error(`mosquitto_sub -V ${version} never received; stderr: ${sub.stderr()}`) }
    await runTool(requireTool('mosquitto_pub', 'mosquitto-clients'), ['-h', '127.0.0.1', '-p', String(port), '-V', version, '-t', `${base}/sync`, '-m', 's'])
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  return sub
}

for (const version of ['31', '311', '5']) {
  test(`mosquitto_pub / mosquitto_sub -V ${version}, QoS 1`, async ({ port }) => {
    const base = topicBase()
    const sub = await mosquittoSub(port, base, version, '60')
    try {
      await runTool(requireTool('mosquitto_pub', 'mosquitto-clients'), ['-h', '127.0.0.1', '-p', String(port), '-V', version, '-q', '1', '-t', `${base}/a`, '-m', `hello-${version}`])
      assert.is(await sub.waitForLine((l) => l.startsWith(`${base}/a|`)), `${base}/a|hello-${version}|1`)
    } finally { await sub.stop() }
  })
}

for (const protocolVersion of [3, 4, 5] as const) {
  for (const keepalive of [0, 60]) {
    test(`MQTT.js protocol ${protocolVersion}, keepalive ${keepalive}: connects, subscribes, gets its QoS 1 and QoS 2 messages`, async ({ port }) => {
      const base = topicBase()
      const c = await mqtt.connectAsync({ host: '127.0.0.1', port, protocolVersion, keepalive, ...(protocolVersion === 3 ? { protocolId: 'MQIsdp' } : {}), reconnectPeriod: 0 })
      try {
        await c.subscribeAsync(`${base}/#`, { qos: 2 })
        const got: string[] = []
        const two = new Promise<void>((resolve) => c.on('message', (t, p) => { got.push(`${t}|${p.toString()}`); if (got.length === 2) resolve() }))
        await c.publishAsync(`${base}/a`, 'one', { qos: 1 })
        await c.publishAsync(`${base}/b`, 'two', { qos: 2 })
        await two
        assert.equal(got.sort(), [`${base}/a|one`, `${base}/b|two`])
      } finally { await c.endAsync() }
    })
  }
}

for (const version of [4, 5]) {
  for (const keepalive of [0, 60]) {
    test(`paho-mqtt ${version === 5 ? '5.0' : '3.1.1'}, keepalive ${keepalive}: subscribes and receives what paho publishes`, async ({ port }) => {
      const base = topicBase()
      const sub = startTool(requirePaho(), [PAHO, JSON.stringify({ mode: 'sub', port, version, topic: `${base}/#`, qos: 1, count: 1, keepalive, timeout: 10 })])
      try {
        await sub.waitForLine(/^READY$/, 8000)
        const pub = startTool(requirePaho(), [PAHO, JSON.stringify({ mode: 'pub', port, version, topic: `${base}/x`, keepalive, messages: [{ payload: 'from-paho', qos: 1 }] })])
        assert.is(await pub.exited(8000), 0, pub.lines().join('\n') + pub.stderr())
        assert.is(await sub.exited(8000), 0, sub.lines().join('\n') + sub.stderr())
        const got = sub.lines().filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { topic: string, payload: string })
        assert.equal(got.map((m) => [m.topic, m.payload]), [[`${base}/x`, 'from-paho']])
      } finally { await sub.stop() }
    })
  }
}

test('a raw 3.1.1 client with keepalive 0 gets CONNACK 0 and a round trip', async ({ port }) => {
  const { c, connack } = await RawMqtt.connected(port, 4, { keepalive: 0 })
  assert.is(connack.returnCode, 0)
  c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'dc/raw', qos: 1 }] })
  await c.next('suback')
  c.send({ cmd: 'publish', topic: 'dc/raw', payload: 'r', qos: 1, messageId: 2 })
  await c.next('puback')
  assert.is((await c.next('publish')).payload.toString(), 'r')
  await c.disconnect()
})

test.run()
