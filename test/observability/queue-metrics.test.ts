// The two figures aedes does not keep (issue 12), on real sockets with real
// clients: edgemq_offline_queue_messages / _bytes (what the store holds for
// persistent sessions, exact through enqueue, acknowledgement, drop and
// restart) and edgemq_inflight_messages (QoS 1/2 sent and not yet
// acknowledged, over all connections); $SYS and /api/v1/status read the same.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import mqtt from 'mqtt'
import { removeDir, tempDir } from '../auth/security-broker.ts'
import { RawMqtt } from '../helpers/raw-mqtt.ts'
import { bearer, httpGet, sampleOf, startFullBroker, writeToken, type FullBroker } from './http-fixtures.ts'

const Queues = suite('offline queue and inflight metrics')
let dir: string
let token: string
let tokenPath: string
let gw: FullBroker | undefined

const yaml = (): string => `listeners:
  - { name: mqtt, type: tcp, host: 127.0.0.1, port: 0 }
  - { name: web, type: http, host: 127.0.0.1, port: 0, tokenFile: ${tokenPath}, requestBurst: 1000, requestRate: 1000 }
sys: { interval: 200ms }
acl:
  rules:
    - { anonymous: true, allow: readwrite, topic: 'q/#' }
    - { anonymous: true, allow: read, topic: '$SYS/#' }
`

Queues.before(async () => {
  dir = await tempDir()
  const t = await writeToken(dir)
  token = t.token
  tokenPath = t.path
  gw = await startFullBroker(yaml(), dir)
})
Queues.after(async () => {
  await gw?.stop()
  await removeDir(dir)
})

const scrape = async (): Promise<string> => {
  const r = await httpGet(gw!.port('web'), '/metrics', { headers: bearer(token) })
  assert.is(r.status, 200)
  return r.body
}
const metric = async (name: string): Promise<number | undefined> => sampleOf(await scrape(), name)

const waitFor = async (what: string, check: () => Promise<boolean>, ms = 15_000): Promise<void> => {
  const until = performance.now() + ms
  while (performance.now() < until) {
    if (await check()) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`timed out waiting for ${what}`)
}
const waitMetric = async (name: string, want: number): Promise<void> => {
  let last: number | undefined
  try {
    await waitFor(`${name} = ${want}`, async () => { last = await metric(name); return last === want })
  } catch {
    assert.is(last, want, `${name}`)
  }
}

const url = (): string => `mqtt://127.0.0.1:${gw!.port('mqtt')}`

Queues('a persistent subscriber offline: N QoS 1 published shows N queued; reconnecting drains it to 0', async () => {
  await waitMetric('edgemq_offline_queue_messages', 0) // counted after start (an empty store: at once)
  const sub = await mqtt.connectAsync(url(), { protocolVersion: 4, clientId: 'q-sub', clean: false })
  await sub.subscribeAsync('q/a/#', { qos: 1 })
  await sub.endAsync()
  const pub = await mqtt.connectAsync(url(), { protocolVersion: 4, clientId: 'q-pub' })
  try {
    const N = 40
    for (let i = 0; i < N; i++) await pub.publishAsync(`q/a/${i}`, Buffer.alloc(100, 1), { qos: 1 })
    await waitMetric('edgemq_offline_queue_messages', N)
    const bytes = await metric('edgemq_offline_queue_bytes')
    assert.ok(bytes !== undefined && bytes >= N * 100, `queued bytes cover the payloads: ${String(bytes)}`)
    // $SYS and the API read the same figure
    const sys = await mqtt.connectAsync(url(), { protocolVersion: 4, clientId: 'q-sys' })
    const sysValues: string[] = []
    sys.on('message', (t, p) => { if (t === '$SYS/broker/store/queued messages') sysValues.push(p.toString()) })
    await sys.subscribeAsync('$SYS/broker/store/queued messages')
    // the retained value may be an older one; the next publication (every 200 ms) has N
    await waitFor(`$SYS queued messages = ${N} (seen ${sysValues.join(', ')})`, async () => sysValues.includes(String(N)))
    await sys.endAsync()
    const status = JSON.parse((await httpGet(gw!.port('web'), '/api/v1/status', { headers: bearer(token) })).body) as { counts: Record<string, unknown> }
    assert.is(status.counts.offlineQueueMessages, N, JSON.stringify(status.counts))

    // the subscriber comes back: MQTT.js acknowledges each message; the queue drains to 0
    const got: string[] = []
    const back = mqtt.connect(url(), { protocolVersion: 4, clientId: 'q-sub', clean: false, reconnectPeriod: 0 })
    back.on('message', (t) => { got.push(t) })
    try {
      await waitFor('the queue replayed', async () => got.length >= N)
      await waitMetric('edgemq_offline_queue_messages', 0)
      await waitMetric('edgemq_offline_queue_bytes', 0)
      await waitMetric('edgemq_inflight_messages', 0)
      // connected persistent session: a live message is queued while in flight, then acknowledged
      await pub.publishAsync('q/a/live', 'x', { qos: 1 })
      await waitFor('the live message', async () => got.includes('q/a/live'))
      await waitMetric('edgemq_offline_queue_messages', 0)
    } finally {
      await back.endAsync()
    }
  } finally {
    await pub.endAsync()
  }
})

Queues('a client that does not acknowledge shows inflight; its close ends them; a session wipe empties its queue figure', async () => {
  // a raw persistent v5 client that reads PUBLISHes and never answers PUBACK / PUBREC
  const { c } = await RawMqtt.connected(gw!.port('mqtt'), 5, { clientId: 'mute', clean: false, properties: { sessionExpiryInterval: 300 } })
  c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'q/mute/#', qos: 2 }] })
  await c.next('suback')
  const pub = await mqtt.connectAsync(url(), { protocolVersion: 5, clientId: 'm-pub' })
  try {
    await pub.publishAsync('q/mute/1', 'a', { qos: 1 })
    await pub.publishAsync('q/mute/2', 'b', { qos: 1 })
    await pub.publishAsync('q/mute/3', 'c', { qos: 2 })
    const sent = [await c.next('publish'), await c.next('publish'), await c.next('publish')]
    await waitMetric('edgemq_inflight_messages', 3)
    // unacknowledged messages of a persistent session stay in its store queue
    await waitMetric('edgemq_offline_queue_messages', 3)
    // a PUBACK ends one flow
    const first = sent.find((p) => p.qos === 1)
    c.send({ cmd: 'puback', messageId: first?.messageId })
    await waitMetric('edgemq_inflight_messages', 2)
    await waitMetric('edgemq_offline_queue_messages', 2)
    c.destroy()
    await waitMetric('edgemq_inflight_messages', 0) // the connection's flows end with it
    await waitMetric('edgemq_offline_queue_messages', 2) // still queued for the session
    // a clean start wipes the session: its queue goes
    const { c: again } = await RawMqtt.connected(gw!.port('mqtt'), 5, { clientId: 'mute', clean: true })
    await waitMetric('edgemq_offline_queue_messages', 0)
    again.destroy()
  } finally {
    await pub.endAsync()
  }
})

Queues('after a restart the queue left on disk is counted once the broker is ready, and exact from then on', async () => {
  const sub = await mqtt.connectAsync(url(), { protocolVersion: 4, clientId: 'r-sub', clean: false })
  await sub.subscribeAsync('q/r/#', { qos: 1 })
  await sub.endAsync()
  const pub = await mqtt.connectAsync(url(), { protocolVersion: 4, clientId: 'r-pub' })
  for (let i = 0; i < 25; i++) await pub.publishAsync(`q/r/${i}`, 'x', { qos: 1 })
  await pub.endAsync()
  await waitMetric('edgemq_offline_queue_messages', 25)
  const bytesBefore = await metric('edgemq_offline_queue_bytes')
  await gw!.stop()
  gw = await startFullBroker(yaml(), dir)
  await waitMetric('edgemq_offline_queue_messages', 25)
  assert.is(await metric('edgemq_offline_queue_bytes'), bytesBefore)
  assert.ok(gw.logs.some((l) => /offline queues counted .*messages=25/.test(l)), 'the count is logged')
  // new messages after the count add to it
  const pub2 = await mqtt.connectAsync(url(), { protocolVersion: 4, clientId: 'r-pub' })
  await pub2.publishAsync('q/r/more', 'x', { qos: 1 })
  await pub2.endAsync()
  await waitMetric('edgemq_offline_queue_messages', 26)
  const back = await mqtt.connectAsync(url(), { protocolVersion: 4, clientId: 'r-sub', clean: true })
  await back.endAsync()
  await waitMetric('edgemq_offline_queue_messages', 0)
})

Queues.run()
