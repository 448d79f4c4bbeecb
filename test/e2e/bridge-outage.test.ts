// The gateway as a real process, bridged to a real mosquitto: the uplink goes
// down, sensors keep publishing, edgemq is killed with SIGKILL while messages
// are being acknowledged, again during the outage and again during the drain.
// Every message the gateway acknowledged arrives upstream, in order.
// Longer soak: EDGEMQ_BRIDGE_E2E_MESSAGES=500000 node --import tsx test/e2e/bridge-outage.test.ts
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt from 'mqtt'
import { callControl } from '../../src/control/control-client.ts'
import { MosquittoProcess } from '../helpers/mosquitto-process.ts'
import { record, sleep, waitFor } from '../bridge/bridge-fixtures.ts'
import { startGatewayProcess, type GatewayProcess } from '../bridge/gateway-process.ts'

const N = Number(process.env.EDGEMQ_BRIDGE_E2E_MESSAGES ?? 10_000)
/** Waits scale with the soak size (at least 200 msgs/s); no speed is asserted. */
const DRAIN_MS = Math.max(90_000, N * 5)
const E2E = suite('bridge e2e: kill -9 during outage and drain')
let dir: string
let mosq: MosquittoProcess
let gw: GatewayProcess | undefined

E2E.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgemq-bridge-e2e-'))
  mosq = await MosquittoProcess.start()
})
E2E.after(async () => {
  await gw?.kill()
  await mosq?.dispose()
  await rm(dir, { recursive: true, force: true })
})

const yaml = (dataDir: string, upstreamPort: number): string => `
listeners:
  - { name: tcp, type: tcp, host: 127.0.0.1, port: 0 }
persistence: { path: ${dataDir} }
bridges:
  - name: cloud
    url: mqtt://127.0.0.1:${upstreamPort}
    clientId: gw-e2e
    topics:
      - { filter: sensors/#, direction: out, qos: 1, remotePrefix: site17/ }
    reconnect: { initialDelay: 200ms, maxDelay: 1s }
`

/** Publishes 0..n-1 from `from`, pipelined; returns the numbers the gateway acknowledged (PUBACK) before it went away. */
async function publishNumbered (port: number, from: number, n: number, onAck?: (count: number) => void): Promise<number[]> {
  const sensor = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 })
  sensor.on('error', () => {})
  // MQTT.js leaves QoS 1 publishes pending when the connection dies: stop waiting on them then.
  const closed = new Promise<void>((resolve) => sensor.once('close', () => resolve()))
  const acked: number[] = []
  const pending = new Set<Promise<void>>()
  for (let i = from; i < from + n && sensor.connected; i++) {
    const p = sensor.publishAsync(`sensors/s${i % 10}`, String(i), { qos: 1 }).then(() => { acked.push(i); onAck?.(acked.length) }, () => {})
    const tracked = p.finally(() => pending.delete(tracked))
    pending.add(tracked)
    if (pending.size >= 500) await Promise.race([...pending, closed])
  }
  await Promise.race([Promise.all(pending), closed])
  await sensor.endAsync(true)
  return acked.sort((a, b) => a - b)
}

/** Each first arrival in increasing order, and every acknowledged number present. */
function checkDelivery (arrived: number[], acked: number[]): string | undefined {
  const seen = new Set<number>()
  let last = -1
  for (const s of arrived) {
    if (seen.has(s)) continue
    if (s < last) return `message ${s} arrived first after ${last}: out of order`
    seen.add(s)
    last = s
  }
  const missing = acked.filter((a) => !seen.has(a))
  return missing.length === 0 ? undefined : `${missing.length} acknowledged messages never arrived (first: ${missing.slice(0, 5).join(', ')})`
}

E2E(`${N} acknowledged messages survive SIGKILLs of edgemq while queuing, during the outage and during the drain`, async () => {
  const dataDir = join(dir, 'gw')
  const config = yaml(dataDir, mosq.port)
  const consumer = await record(mosq.port, [], { clientId: 'consumer-e2e', clean: false })
  await consumer.client.subscribeAsync('site17/sensors/#', { qos: 1 })
  const numbers = (): number[] => consumer.messages.map((m) => Number(m.payload))
  const seen = new Set<string>() // kept as messages arrive: recounting every poll would slow the drain
  consumer.client.on('message', (_t, p) => { seen.add(String(p)) })
  const distinct = (): number => seen.size
  try {
    gw = await startGatewayProcess(config, dir)
    await mosq.halt('SIGTERM') // the uplink goes down

    // 1. killed while acknowledging: whatever was acknowledged must survive
    let killing: Promise<void> | undefined
    const half = Math.floor(N / 2)
    const first = await publishNumbered(gw.port, 0, half, (count) => { if (count === Math.floor(half / 2)) killing ??= gw!.kill('SIGKILL') })
    await killing
    assert.ok(first.length >= Math.floor(half / 2) && first.length < half + 1, `${first.length} acknowledged before the kill`)

    // 2. restarted and fed the rest while still offline, then killed during the outage
    gw = await startGatewayProcess(config, dir)
    const status = await callControl(join(dataDir, 'control.sock'), 'bridges.status') as Array<{ connected: boolean, queue: { messages: number } }>
    assert.is(status[0].connected, false)
    assert.ok(status[0].queue.messages >= first.length, `${status[0].queue.messages} queued after the restart, ${first.length} acknowledged`)
    const second = await publishNumbered(gw.port, half, N - half)
    assert.is(second.length, N - half)
    await gw.kill('SIGKILL')
    gw = await startGatewayProcess(config, dir)

    // 3. the uplink comes back; killed again during the drain
    await mosq.resume()
    const acked = [...first, ...second]
    await waitFor(() => distinct() >= acked.length / 3, DRAIN_MS, 'a third of the backlog to arrive')
    await gw.kill('SIGKILL')
    gw = await startGatewayProcess(config, dir)
    await waitFor(() => distinct() >= acked.length, DRAIN_MS, 'as many messages as were acknowledged').catch(() => {})
    await waitFor(() => checkDelivery(numbers(), acked) === undefined, 30_000, 'every acknowledged message').catch((err: Error) => {
      throw new Error(`${err.message}: ${checkDelivery(numbers(), acked) ?? ''}; ${distinct()} distinct arrived`)
    })
    assert.is(checkDelivery(numbers(), acked), undefined)
    let after = status
    for (let i = 0; i < 100 && !(after[0].connected && after[0].queue.messages === 0); i++) {
      await sleep(100)
      after = await callControl(join(dataDir, 'control.sock'), 'bridges') as typeof status
    }
    assert.is(after[0].connected, true, 'edgemq ctl bridges shows the bridge connected')
    assert.is(after[0].queue.messages, 0, 'and its queue empty')
  } finally {
    await consumer.close()
  }
})

E2E.run()
