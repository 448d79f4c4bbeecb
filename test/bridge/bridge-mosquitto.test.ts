// The bridge against a real Mosquitto (Debian's), started by the test on a
// free loopback port: topic rules in every direction, loop prevention, and an
// outage with the gateway restarted while messages are queued and while they
// drain. Every message must arrive, in order.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt from 'mqtt'
import { MosquittoProcess } from '../helpers/mosquitto-process.ts'
import { checkInOrder, record, sleep, startGateway, waitFor } from './bridge-fixtures.ts'

const gatewayYaml = (upstreamPort: number, dataDir: string, extra: { protocolVersion?: number, clientId?: string } = {}): string => `
listeners:
  - { name: tcp, type: tcp, host: 127.0.0.1, port: 0 }
persistence: { path: ${dataDir}, sync: batch }
bridges:
  - name: cloud
    url: mqtt://127.0.0.1:${upstreamPort}
    protocolVersion: ${extra.protocolVersion ?? 5}
    clientId: ${extra.clientId ?? 'gw-17'}
    topics:
      - { filter: sensors/#, direction: out, qos: 1, remotePrefix: site17/ }
      - { filter: cmd/#, direction: in, qos: 1, remotePrefix: site17/, localPrefix: from-cloud/ }
      - { filter: chat/#, direction: both, qos: 1, remotePrefix: site17/ }
      - { filter: q2/#, direction: both, qos: 2, remotePrefix: site17/ }
    reconnect: { initialDelay: 200ms, maxDelay: 1s }
`

const Rules = suite('bridge rules against mosquitto')
let mosq: MosquittoProcess
let dir: string

Rules.before(async () => {
  mosq = await MosquittoProcess.start()
  dir = await mkdtemp(join(tmpdir(), 'edgemq-bridge-test-'))
})
Rules.after(async () => {
  await mosq?.dispose()
  await rm(dir, { recursive: true, force: true })
})

for (const version of [5, 4]) {
  Rules(`MQTT ${version}: out, in and both rules carry messages with their prefixes, and a both rule never echoes`, async () => {
    const gw = await startGateway(gatewayYaml(mosq.port, join(dir, `v${version}`), { protocolVersion: version, clientId: `gw-v${version}` }))
    const up = await record(mosq.port, ['site17/#'])
    const local = await record(gw.port, ['from-cloud/#', 'chat/#'])
    const sensor = await mqtt.connectAsync(`mqtt://127.0.0.1:${gw.port}`)
    try {
      await waitFor(() => gw.bridges().status()[0].connected, 10_000, 'the bridge to connect')
      await sleep(200) // let the bridge's SUBSCRIBE reach mosquitto
      for (let i = 0; i < 100; i++) await sensor.publishAsync(`sensors/t${i % 3}`, String(i), { qos: 1 })
      await up.until((r) => r.messages.filter((m) => m.topic.startsWith('site17/sensors/')).length >= 100)
      const out = up.messages.filter((m) => m.topic.startsWith('site17/sensors/'))
      assert.is(checkInOrder(out.map((m) => Number(m.payload)), 100), undefined)
      assert.is(out[4].topic, 'site17/sensors/t1', 'the remote prefix is added')

      await up.client.publishAsync('site17/cmd/reboot', 'now', { qos: 1 })
      await local.until((r) => r.messages.some((m) => m.topic === 'from-cloud/cmd/reboot'))

      await sensor.publishAsync('chat/hello', 'from-gw', { qos: 1 })
      await up.until((r) => r.messages.some((m) => m.topic === 'site17/chat/hello'))
      await up.client.publishAsync('site17/chat/hi', 'from-cloud', { qos: 1 })
      await local.until((r) => r.messages.some((m) => m.topic === 'chat/hi'))
      await sleep(500)
      assert.is(local.messages.filter((m) => m.topic === 'chat/hello').length, 1, 'the gateway\'s own chat message does not come back down')
      assert.is(up.messages.filter((m) => m.topic === 'site17/chat/hi').length, 1, 'the cloud\'s chat message does not go back up')
      assert.is(up.messages.filter((m) => m.topic === 'site17/chat/hello').length, 1)
      assert.is(local.messages.filter((m) => m.topic.startsWith('site17/')).length, 0)
      const s = gw.bridges().status()[0]
      assert.is(s.queue.messages, 0, 'everything acknowledged upstream left the queue')
      assert.is(s.counters.delivered, 101)
    } finally {
      await sensor.endAsync(true)
      await up.close()
      await local.close()
      await gw.stop()
    }
  })
}

Rules('retained messages keep their flag upstream, and a retained remote message comes down on subscribe', async () => {
  const pub = await mqtt.connectAsync(`mqtt://127.0.0.1:${mosq.port}`)
  await pub.publishAsync('site17/cmd/config', 'v2', { qos: 1, retain: true })
  await pub.endAsync()
  const gw = await startGateway(gatewayYaml(mosq.port, join(dir, 'retain'), { clientId: 'gw-retain' }))
  const sensor = await mqtt.connectAsync(`mqtt://127.0.0.1:${gw.port}`)
  try {
    await waitFor(() => gw.bridges().status()[0].counters.received >= 1, 10_000, 'the retained command to come down')
    const late = await record(gw.port, ['from-cloud/cmd/config'])
    await late.until((r) => r.messages.length === 1)
    assert.is(late.messages[0].retain, true, 'stored as retained on the gateway')
    await late.close()
    await sensor.publishAsync('sensors/state', 'on', { qos: 1, retain: true })
    await waitFor(() => gw.bridges().status()[0].counters.delivered >= 1, 10_000, 'the retained state to go up')
    const up = await record(mosq.port, ['site17/sensors/state'])
    await up.until((r) => r.messages.length === 1)
    assert.is(up.messages[0].retain, true)
    await up.client.publishAsync('site17/sensors/state', '', { qos: 1, retain: true })
    await up.close()
  } finally {
    await sensor.endAsync(true)
    await gw.stop()
  }
})

Rules('QoS 2 rules deliver exactly once each way on one connection', async () => {
  const gw = await startGateway(gatewayYaml(mosq.port, join(dir, 'qos2'), { clientId: 'gw-qos2' }))
  const up = await record(mosq.port, [])
  await up.client.subscribeAsync('site17/q2/up', { qos: 2 })
  const local = await record(gw.port, [])
  await local.client.subscribeAsync('q2/down', { qos: 2 })
  try {
    await waitFor(() => gw.bridges().status()[0].connected, 10_000, 'the bridge to connect')
    await sleep(200)
    for (let i = 0; i < 50; i++) await local.client.publishAsync('q2/up', String(i), { qos: 2 })
    for (let i = 0; i < 50; i++) await up.client.publishAsync('site17/q2/down', String(i), { qos: 2 })
    await up.until((r) => r.messages.length >= 50)
    await local.until((r) => r.messages.filter((m) => m.topic === 'q2/down').length >= 50)
    await sleep(300)
    assert.equal(up.messages.filter((m) => m.topic === 'site17/q2/up').map((m) => Number(m.payload)), Array.from({ length: 50 }, (_, i) => i))
    assert.ok(up.messages.every((m) => m.qos === 2))
    assert.equal(local.messages.filter((m) => m.topic === 'q2/down').map((m) => Number(m.payload)), Array.from({ length: 50 }, (_, i) => i))
  } finally {
    await up.close()
    await local.close()
    await gw.stop()
  }
})

Rules.run()

const Outage = suite('store and forward through a mosquitto outage')

const N = Number(process.env.EDGEMQ_BRIDGE_OUTAGE_MESSAGES ?? 20_000)
/** Waits scale with the soak size: at least 60 s, or 200 msgs/s, whichever is longer (no speed is asserted). */
const DRAIN_MS = Math.max(60_000, N * 5)

Outage.before(async () => {
  mosq = await MosquittoProcess.start()
  dir = await mkdtemp(join(tmpdir(), 'edgemq-bridge-test-'))
})
Outage.after(async () => {
  await mosq?.dispose()
  await rm(dir, { recursive: true, force: true })
})

Outage(`${N} messages queued while mosquitto is down, gateway restarted during the outage and during the drain: all arrive, in order`, async () => {
  const dataDir = join(dir, 'outage')
  const yaml = gatewayYaml(mosq.port, dataDir)
  // The upstream consumer keeps a persistent session, so mosquitto (which saves it on SIGTERM) holds its subscription across the outage.
  const consumer = await record(mosq.port, [], { clientId: 'consumer', clean: false })
  await consumer.client.subscribeAsync('site17/sensors/#', { qos: 1 })
  let gw = await startGateway(yaml)
  try {
    await waitFor(() => gw.bridges().status()[0].connected, 10_000, 'the bridge to connect')
    await mosq.halt('SIGTERM')
    await waitFor(() => !gw.bridges().status()[0].connected, 10_000, 'the bridge to notice the outage')

    const diskBefore = await diskBytes(dataDir)
    const sensor = await mqtt.connectAsync(`mqtt://127.0.0.1:${gw.port}`)
    const t0 = performance.now()
    const acks: Array<Promise<unknown>> = []
    for (let i = 0; i < N; i++) {
      acks.push(sensor.publishAsync(`sensors/s${i % 10}`, String(i), { qos: 1 }))
      if (acks.length >= 500) await Promise.all(acks.splice(0))
    }
    await Promise.all(acks)
    const queueSeconds = (performance.now() - t0) / 1000
    await sensor.endAsync()
    let s = gw.bridges().status()[0]
    assert.is(s.queue.messages, N, 'every acknowledged message is queued')
    assert.is(s.connected, false)
    const bytesPerMessage = s.queue.bytes / N
    await sleep(1500) // let batch mode sync
    const diskPerMessage = (await diskBytes(dataDir) - diskBefore) / N

    // restart the gateway during the outage
    await gw.stop()
    gw = await startGateway(yaml)
    s = gw.bridges().status()[0]
    assert.is(s.queue.messages, N, 'the queue survived the restart')

    await mosq.resume()
    const t1 = performance.now()
    const seen = new Set<string>() // kept as messages arrive: recounting 100k messages every poll would slow the drain it measures
    for (const m of consumer.messages) seen.add(String(m.payload))
    consumer.client.on('message', (_t, p) => { seen.add(String(p)) })
    const distinct = (): number => seen.size
    await waitFor(() => distinct() >= N / 3, DRAIN_MS, 'a third of the backlog to drain')
    // restart the gateway during the drain
    await gw.stop()
    gw = await startGateway(yaml)
    await waitFor(() => distinct() >= N, DRAIN_MS, 'the whole backlog to drain').catch((err: Error) => {
      throw new Error(`${err.message}: ${distinct()} distinct arrived, ${checkInOrder(consumer.messages.map((m) => Number(m.payload)), N) ?? ''}; bridge ${JSON.stringify(gw.bridges().status())}`)
    })
    const drainSeconds = (performance.now() - t1) / 1000
    assert.is(checkInOrder(consumer.messages.map((m) => Number(m.payload)), N), undefined)
    await waitFor(() => gw.bridges().status()[0].queue.messages === 0, 10_000, 'the queue to empty')
    const dupes = consumer.messages.length - N
    console.log(`bridge figures: queued ${N} msgs at ${(N / queueSeconds).toFixed(0)} msgs/s with the uplink down; drained at ${(N / drainSeconds).toFixed(0)} msgs/s to mosquitto (including one gateway restart); ${bytesPerMessage.toFixed(1)} queue bytes per message (key + record; ${diskPerMessage.toFixed(1)} bytes of LevelDB files per message, incl. the local store's own journal), payload ${String(N - 1).length} bytes, topic ${'site17/sensors/s0'.length} bytes); ${dupes} QoS 1 duplicates`)
  } finally {
    await consumer.close()
    await gw.stop()
  }
})

Outage.run()

async function diskBytes (path: string): Promise<number> {
  let total = 0
  for (const e of await readdir(path, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) total += (await stat(join(e.parentPath ?? (e as unknown as { path: string }).path, e.name))).size
  }
  return total
}
