// The figures of /metrics on real sockets: clients by listener and protocol
// version, messages and bytes by QoS, refusals by reason, ACL drops, retained
// messages, and $SYS reading the same registry (the two never disagree).
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import mqtt from 'mqtt'
import { removeDir, tempDir, writePasswords } from '../auth/security-broker.ts'
import { connectClient } from '../auth/mqtt-connect.ts'
import { bearer, httpGet, sampleOf, startFullBroker, writeToken, type FullBroker } from './http-fixtures.ts'

const Metrics = suite('metrics on real sockets')
let dir: string
let gw: FullBroker
let token: string

Metrics.before(async () => {
  dir = await tempDir()
  const t = await writeToken(dir)
  token = t.token
  const passwords = await writePasswords(dir, { alice: 'alice-pass' })
  gw = await startFullBroker(`listeners:
  - { name: mqtt, type: tcp, host: 127.0.0.1, port: 0 }
  - { name: web, type: http, host: 127.0.0.1, port: 0, tokenFile: ${t.path}, requestBurst: 100, requestRate: 100 }
sys: { interval: 200ms }
auth: { passwordFile: ${passwords} }
acl:
  rules:
    - { anonymous: true, allow: readwrite, topic: 'data/#' }
    - { anonymous: true, allow: read, topic: '$SYS/#' }
`, dir)
})
Metrics.after(async () => {
  await gw?.stop()
  await removeDir(dir)
})

const scrape = async (): Promise<string> => {
  const r = await httpGet(gw.port('web'), '/metrics', { headers: bearer(token) })
  assert.is(r.status, 200)
  return r.body
}

const waitFor = async (what: string, check: () => Promise<boolean>, ms = 10_000): Promise<void> => {
  const until = performance.now() + ms
  while (performance.now() < until) {
    if (await check()) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`timed out waiting for ${what}`)
}

Metrics('clients by listener and protocol, messages and bytes in and out by QoS, ACL drops, refusals by reason', async () => {
  const url = `mqtt://127.0.0.1:${gw.port('mqtt')}`
  const sub = await mqtt.connectAsync(url, { protocolVersion: 5, clientId: 'sub-v5' })
  const pub = await mqtt.connectAsync(url, { protocolVersion: 4, clientId: 'pub-v4' })
  try {
    const got: string[] = []
    sub.on('message', (topic) => { got.push(topic) })
    await sub.subscribeAsync('data/#', { qos: 1 })
    let text = await scrape()
    assert.is(sampleOf(text, 'edgemq_connections', { listener: 'mqtt', protocol: '5.0' }), 1)
    assert.is(sampleOf(text, 'edgemq_connections', { listener: 'mqtt', protocol: '3.1.1' }), 1)
    assert.is(sampleOf(text, 'edgemq_connects_total'), 2)

    for (let i = 0; i < 3; i++) await pub.publishAsync('data/q0', '0123456789', { qos: 0 })
    for (let i = 0; i < 2; i++) await pub.publishAsync('data/q1', 'abcdefg', { qos: 1 })
    await pub.publishAsync('data/retained', 'r', { qos: 1, retain: true })
    const denied = await sub.publishAsync('forbidden/x', 'no', { qos: 1 }).then(() => undefined, (e: { code?: number }) => e.code)
    assert.is(denied, 0x87, 'v5: PUBACK not authorized')
    await pub.publishAsync('data/end', '', { qos: 0 }) // sentinel: everything before it has been decided
    await waitFor('7 deliveries', async () => got.includes('data/end'))

    text = await scrape()
    assert.is(sampleOf(text, 'edgemq_messages_received_total', { qos: '0' }), 4)
    assert.is(sampleOf(text, 'edgemq_received_bytes_total', { qos: '0' }), 30)
    assert.is(sampleOf(text, 'edgemq_messages_received_total', { qos: '1' }), 3, 'two QoS 1 and the retained one; the refused one is not received')
    assert.is(sampleOf(text, 'edgemq_received_bytes_total', { qos: '1' }), 15)
    assert.is(sampleOf(text, 'edgemq_messages_sent_total', { qos: '0' }), 4)
    assert.is(sampleOf(text, 'edgemq_messages_sent_total', { qos: '1' }), 3)
    assert.is(sampleOf(text, 'edgemq_sent_bytes_total', { qos: '1' }), 15)
    assert.is(sampleOf(text, 'edgemq_messages_dropped_total', { reason: 'acl' }), 1)
    assert.is(sampleOf(text, 'edgemq_retained_messages'), 1)
    assert.is(sampleOf(text, 'edgemq_retained_bytes'), 1)

    const refused = await connectClient(url, { username: 'alice', password: 'wrong', reconnectPeriod: 0 }, 5000).then(() => undefined, (e: Error) => e)
    assert.ok(refused !== undefined, 'the wrong password is refused')
    text = await scrape()
    assert.is(sampleOf(text, 'edgemq_connects_refused_total', { reason: 'bad_user_name_or_password' }), 1)
    assert.is(sampleOf(text, 'edgemq_auth_failures_total'), 1)
  } finally {
    await sub.endAsync()
    await pub.endAsync()
  }
})

Metrics('$SYS publishes the registry\'s numbers: messages received and clients connected agree with /metrics', async () => {
  const url = `mqtt://127.0.0.1:${gw.port('mqtt')}`
  const watcher = await mqtt.connectAsync(url, { clientId: 'sys-watcher' })
  try {
    const sys = new Map<string, string>()
    watcher.on('message', (topic, payload) => { sys.set(topic, payload.toString()) })
    await watcher.subscribeAsync(['$SYS/broker/messages/received', '$SYS/broker/clients/connected', '$SYS/broker/bytes/received'])
    // Nothing is published meanwhile: after one period, both sides see the same counts.
    await new Promise((resolve) => setTimeout(resolve, 600))
    sys.clear()
    await waitFor('a fresh $SYS round', async () => sys.size === 3)
    const text = await scrape()
    const sum = (name: string): number => [0, 1, 2].reduce((n, q) => n + (sampleOf(text, name, { qos: String(q) }) ?? 0), 0)
    assert.is(Number(sys.get('$SYS/broker/messages/received')), sum('edgemq_messages_received_total'))
    assert.is(Number(sys.get('$SYS/broker/bytes/received')), sum('edgemq_received_bytes_total'))
    assert.is(Number(sys.get('$SYS/broker/clients/connected')), (sampleOf(text, 'edgemq_connections', { listener: 'mqtt', protocol: '3.1.1' }) ?? 0) + (sampleOf(text, 'edgemq_connections', { listener: 'mqtt', protocol: '5.0' }) ?? 0))
    assert.is(Number(sys.get('$SYS/broker/clients/connected')), 1)
  } finally {
    await watcher.endAsync()
  }
})

Metrics('/api/v1/clients pages and searches by id, user and IP', async () => {
  const url = `mqtt://127.0.0.1:${gw.port('mqtt')}`
  const clients = await Promise.all(Array.from({ length: 7 }, async (_, i) => await mqtt.connectAsync(url, { clientId: `sensor-${i}` })))
  const alice = await mqtt.connectAsync(url, { clientId: 'alice-phone', username: 'alice', password: 'alice-pass' })
  try {
    const get = async (q: string): Promise<{ total: number, matched: number, clients: Array<{ id: string, user?: string, ip: string }> }> =>
      JSON.parse((await httpGet(gw.port('web'), `/api/v1/clients?${q}`, { headers: bearer(token) })).body)
    const page1 = await get('limit=3&offset=0&q=sensor-')
    assert.is(page1.matched, 7)
    assert.is(page1.clients.length, 3)
    const page3 = await get('limit=3&offset=6&q=sensor-')
    assert.is(page3.clients.length, 1)
    const byUser = await get('q=ALICE')
    assert.equal(byUser.clients.map((c) => [c.id, c.user]), [['alice-phone', 'alice']])
    const byIp = await get('q=127.0.0.1&limit=200')
    assert.is(byIp.matched, 8)
    const clamped = await get('limit=100000')
    assert.ok(clamped.clients.length <= 200)
  } finally {
    await Promise.all([...clients, alice].map(async (c) => { await c.endAsync() }))
  }
})

Metrics.run()

const Pressure = suite('http listener above the memory hard mark')

Pressure('MQTT sockets are refused above the hard mark, the http listener still answers and shows the level', async () => {
  const { createLimits } = await import('../../src/limits/attach-limits.ts')
  const { observabilityPart } = await import('../../src/observability/observability-part.ts')
  const { startBroker } = await import('../../src/broker.ts')
  const { createLogger } = await import('../../src/observability/logger.ts')
  const { configFrom } = await import('../auth/security-broker.ts')
  const pdir = await tempDir()
  const t = await writeToken(pdir)
  let used = 10 * 1048576
  let limits: Awaited<ReturnType<typeof createLimits>> | undefined
  const config = await configFrom(`listeners:
  - { name: mqtt, type: tcp, host: 127.0.0.1, port: 0 }
  - { name: web, type: http, host: 127.0.0.1, port: 0, tokenFile: ${t.path} }
memory: { softMark: 100MB, hardMark: 120MB, checkInterval: 60s }
`, pdir)
  const broker = await startBroker(config, createLogger({ level: 'error', sink: () => {} }), [
    async (ctx) => (limits = await createLimits(ctx, { probe: () => ({ rss: used, used }) })),
    observabilityPart
  ])
  try {
    const port = (name: string): number => broker.addresses().find((a) => a.name === name)!.port
    used = 130 * 1048576
    limits!.checkMemory()
    assert.is(limits!.budget.state, 'hard')
    const refused = await connectClient(`mqtt://127.0.0.1:${port('mqtt')}`, { reconnectPeriod: 0, connectTimeout: 3000 }, 5000).then(() => undefined, (e: Error) => e)
    assert.ok(refused !== undefined, 'an MQTT client is refused above the hard mark')
    const r = await httpGet(port('web'), '/metrics', { headers: bearer(t.token) })
    assert.is(r.status, 200)
    assert.is(sampleOf(r.body, 'edgemq_memory_budget_level'), 2)
    assert.is(sampleOf(r.body, 'edgemq_memory_used_bytes'), 130 * 1048576)
    assert.is(sampleOf(r.body, 'edgemq_memory_hard_mark_bytes'), 120 * 1048576)
  } finally {
    await broker.close()
    await removeDir(pdir)
  }
})

Pressure.run()
