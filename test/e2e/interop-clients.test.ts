// Interoperability with three real client stacks through edgemq:
// Mosquitto's command-line clients (-V 311 and -V 5), MQTT.js (protocol 4 and 5)
// and Eclipse Paho for Python (python3-paho-mqtt, test/e2e/fixtures/paho-client.py).
// A missing tool FAILS the test with the apt-get line that installs it.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { join } from 'node:path'
import mqtt from 'mqtt'
import { REPO_ROOT, requirePaho, requireTool, startBrokerInProcess, type InProcessBroker } from '../helpers/broker-process.ts'
import { runTool, startTool, type ToolProcess } from '../helpers/tool-process.ts'

const test = suite<{ b: InProcessBroker }>('interop: mosquitto clients, MQTT.js, paho')
const PAHO = join(REPO_ROOT, 'test/e2e/fixtures/paho-client.py')
let n = 0
const topicBase = (): string => `ix/${process.pid}/${++n}`

test.before(async (ctx) => {
  ctx.b = await startBrokerInProcess('listeners:\n  - { name: tcp, type: tcp, port: 0 }\nsys: { interval: 0 }\n')
})
test.after(async (ctx) => { await ctx.b.stop() })

/** Starts mosquitto_sub on base/# and returns once it demonstrably receives (a sync message got through). */
async function mosquittoSub (port: number, base: string, version: '311' | '5', extra: string[] = []): Promise<ToolProcess> {
  const bin = requireTool('mosquitto_sub', 'mosquitto-clients')
  const sub = startTool(bin, ['-h', '127.0.0.1', '-p', String(port), '-V', version, '-q', '1', '-t', `${base}/#`, '-F', version === '5' ? '%t|%p|%q|%r|%P' : '%t|%p|%q|%r', ...extra])
  const sync = await mqtt.connectAsync({ host: '127.0.0.1', port, protocolVersion: 4 })
  try {
    const deadline = Date.now() + 5000
    while (!sub.lines().some((l) => l.startsWith(`${base}/sync|`))) {
      if (Date.now() > deadline) throw new Error(`mosquitto_sub never received; stderr: ${sub.stderr()}`)
      await sync.publishAsync(`${base}/sync`, 's', { qos: 0 })
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  } finally {
    await sync.endAsync()
  }
  return sub
}

const mosquittoPub = async (port: number, version: '311' | '5', args: string[]): Promise<void> => {
  await runTool(requireTool('mosquitto_pub', 'mosquitto-clients'), ['-h', '127.0.0.1', '-p', String(port), '-V', version, ...args])
}

const paho = (options: Record<string, unknown>): ToolProcess => startTool(requirePaho(), [PAHO, JSON.stringify(options)])

test('mosquitto_pub -V 311 to mosquitto_sub -V 311, QoS 1', async ({ b }) => {
  const base = topicBase()
  const sub = await mosquittoSub(b.port, base, '311')
  try {
    await mosquittoPub(b.port, '311', ['-q', '1', '-t', `${base}/a`, '-m', 'hello-311'])
    assert.is(await sub.waitForLine((l) => l.startsWith(`${base}/a|`)), `${base}/a|hello-311|1|0`)
  } finally { await sub.stop() }
})

test('mosquitto_pub -V 5 with a user property to mosquitto_sub -V 5', async ({ b }) => {
  const base = topicBase()
  const sub = await mosquittoSub(b.port, base, '5')
  try {
    await mosquittoPub(b.port, '5', ['-q', '2', '-t', `${base}/a`, '-m', 'hello-5', '-D', 'publish', 'user-property', 'site', 'north'])
    const line = await sub.waitForLine((l) => l.startsWith(`${base}/a|`))
    assert.ok(new RegExp(`^${base}/a\\|hello-5\\|1\\|0\\|.*site:north`).test(line), line)
  } finally { await sub.stop() }
})

test('a retained message set with mosquitto_pub -V 5 reaches a later mosquitto_sub -V 311 with RETAIN=1, and -r -n clears it', async ({ b }) => {
  const base = topicBase()
  await mosquittoPub(b.port, '5', ['-q', '1', '-r', '-t', `${base}/r`, '-m', 'kept'])
  const out = await runTool(requireTool('mosquitto_sub', 'mosquitto-clients'), ['-h', '127.0.0.1', '-p', String(b.port), '-V', '311', '-t', `${base}/r`, '-C', '1', '-W', '5', '-F', '%t|%p|%r'])
  assert.is(out, `${base}/r|kept|1`)
  await mosquittoPub(b.port, '311', ['-q', '1', '-r', '-n', '-t', `${base}/r`])
  const empty = startTool(requireTool('mosquitto_sub', 'mosquitto-clients'), ['-h', '127.0.0.1', '-p', String(b.port), '-V', '5', '-t', `${base}/r`, '--retained-only', '-W', '1'])
  await empty.exited(5000)
  assert.equal(empty.lines(), [])
})

test('MQTT.js protocol 4 publishes, paho (MQTT 3.1.1) receives', async ({ b }) => {
  const base = topicBase()
  const sub = paho({ mode: 'sub', port: b.port, version: 4, topic: `${base}/#`, qos: 1, count: 2 })
  try {
    await sub.waitForLine(/^READY$/, 8000)
    const pub = await mqtt.connectAsync({ host: '127.0.0.1', port: b.port, protocolVersion: 4 })
    await pub.publishAsync(`${base}/a`, 'one', { qos: 1 })
    await pub.publishAsync(`${base}/b`, 'two', { qos: 0 })
    await pub.endAsync()
    assert.is(await sub.exited(8000), 0, sub.lines().join('\n'))
    const got = sub.lines().filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { topic: string, payload: string, qos: number })
    assert.equal(got.map((m) => [m.topic, m.payload, m.qos]), [[`${base}/a`, 'one', 1], [`${base}/b`, 'two', 0]])
  } finally { await sub.stop() }
})

test('paho (MQTT 5) publishes with user properties, MQTT.js protocol 5 receives them', async ({ b }) => {
  const base = topicBase()
  const js = await mqtt.connectAsync({ host: '127.0.0.1', port: b.port, protocolVersion: 5 })
  try {
    await js.subscribeAsync(`${base}/#`, { qos: 1 })
    const got = new Promise<{ payload: string, user: unknown }>((resolve) => js.on('message', (_t, payload, packet) => resolve({ payload: payload.toString(), user: { ...packet.properties?.userProperties } })))
    const pub = paho({ mode: 'pub', port: b.port, version: 5, topic: `${base}/x`, messages: [{ payload: 'from-paho', qos: 1, user: { k: 'v' } }] })
    assert.is(await pub.exited(8000), 0, pub.lines().join('\n') + pub.stderr())
    assert.equal(await got, { payload: 'from-paho', user: { k: 'v' } })
  } finally { await js.endAsync() }
})

test('mosquitto_pub -V 5 publishes, paho (MQTT 5) receives the user property', async ({ b }) => {
  const base = topicBase()
  const sub = paho({ mode: 'sub', port: b.port, version: 5, topic: `${base}/#`, qos: 1, count: 1 })
  try {
    await sub.waitForLine(/^READY$/, 8000)
    await mosquittoPub(b.port, '5', ['-q', '1', '-t', `${base}/m`, '-m', 'from-mosquitto', '-D', 'publish', 'user-property', 'a', 'b'])
    assert.is(await sub.exited(8000), 0, sub.lines().join('\n'))
    const msg = JSON.parse(sub.lines().find((l) => l.startsWith('{')) ?? '{}') as { payload: string, user: Record<string, string> }
    assert.equal([msg.payload, msg.user], ['from-mosquitto', { a: 'b' }])
  } finally { await sub.stop() }
})

test('paho (MQTT 3.1.1) publishes, mosquitto_sub -V 5 receives', async ({ b }) => {
  const base = topicBase()
  const sub = await mosquittoSub(b.port, base, '5')
  try {
    const pub = paho({ mode: 'pub', port: b.port, version: 4, topic: `${base}/p`, messages: [{ payload: 'from-paho-311', qos: 1 }] })
    assert.is(await pub.exited(8000), 0)
    assert.match(await sub.waitForLine((l) => l.startsWith(`${base}/p|`)), `${base}/p|from-paho-311|1|0`)
  } finally { await sub.stop() }
})

test('MQTT.js across versions: a v3.1.1 publisher reaches a v5 subscriber and the reverse', async ({ b }) => {
  const base = topicBase()
  const v4 = await mqtt.connectAsync({ host: '127.0.0.1', port: b.port, protocolVersion: 4 })
  const v5 = await mqtt.connectAsync({ host: '127.0.0.1', port: b.port, protocolVersion: 5 })
  try {
    await v4.subscribeAsync(`${base}/to4`, { qos: 1 })
    await v5.subscribeAsync(`${base}/to5`, { qos: 1 })
    const at4 = new Promise<string>((resolve) => v4.on('message', (_t, p) => resolve(p.toString())))
    const at5 = new Promise<string>((resolve) => v5.on('message', (_t, p) => resolve(p.toString())))
    await v5.publishAsync(`${base}/to4`, 'v5->v4', { qos: 1, properties: { userProperties: { dropped: 'for v3' } } })
    await v4.publishAsync(`${base}/to5`, 'v4->v5', { qos: 1 })
    assert.equal([await at4, await at5], ['v5->v4', 'v4->v5'])
  } finally { await v4.endAsync(); await v5.endAsync() }
})

test('two mosquitto_sub -V 5 in one $share group split the messages between them (shim)', async ({ b }) => {
  const base = topicBase()
  const bin = requireTool('mosquitto_sub', 'mosquitto-clients')
  const subs = [0, 1].map(() => startTool(bin, ['-h', '127.0.0.1', '-p', String(b.port), '-V', '5', '-q', '1', '-t', `$share/grp/${base}/#`, '-F', '%p']))
  try {
    await new Promise((resolve) => setTimeout(resolve, 500)) // both SUBSCRIBEs in (no sync message possible: it would go to one of them)
    for (let i = 0; i < 10; i++) await mosquittoPub(b.port, '5', ['-q', '1', '-t', `${base}/job`, '-m', `job${i}`])
    const deadline = Date.now() + 5000
    while (subs[0].lines().length + subs[1].lines().length < 10 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100))
    const all = [...subs[0].lines(), ...subs[1].lines()].sort()
    assert.equal(all, Array.from({ length: 10 }, (_, i) => `job${i}`).sort())
    assert.ok(subs[0].lines().length > 0 && subs[1].lines().length > 0, `one member got everything: ${subs[0].lines().length}/${subs[1].lines().length}`)
  } finally { for (const s of subs) await s.stop() }
})

test.run()
