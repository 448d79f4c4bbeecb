// Throttling on real sockets: a publisher that writes as fast as TCP lets it
// is slowed to the configured bytes/s (measured within 10%), by backpressure
// rather than broker buffering, and the rate changes at run time over the
// control socket and by reload without dropping the client.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import mqtt from 'mqtt'
import { parseConfigText } from '../../src/config/config-file.ts'
import { resolveConfig } from '../../src/config/load-config.ts'
import { callControl } from '../../src/control/control-client.ts'
import { controlSocketPath } from '../../src/control/control-path.ts'
import { RawMqtt } from '../helpers/raw-mqtt.ts'
import { startBrokerInProcess, type InProcessBroker } from '../helpers/broker-process.ts'

const TOPIC = 'flood/x'
const PAYLOAD = Buffer.alloc(1000, 0x61)
// PUBLISH QoS 0: 1 byte header + 2 bytes length + 2 + topic + payload
const WIRE = 1 + 2 + 2 + TOPIC.length + PAYLOAD.length

const config = (bytesPerSecond: number): string => `listeners:\n  - { name: tcp, type: tcp, host: 127.0.0.1, port: 0 }\nthrottle:\n  client: { inboundBytesPerSecond: ${bytesPerSecond} }\n  burstSeconds: 0.2\n`

/** A raw publisher that keeps the socket full; counts how often TCP pushed back. */
async function flood (port: number, clientId: string): Promise<{ c: RawMqtt, stop: () => void, backpressure: () => number }> {
  const { c } = await RawMqtt.connected(port, 4, { clientId })
  const packet = Buffer.concat([Buffer.from([0x30, ((WIRE - 3) & 0x7f) | 0x80, (WIRE - 3) >> 7, 0, TOPIC.length]), Buffer.from(TOPIC), PAYLOAD])
  let stopped = false
  let pushedBack = 0
  const pump = (): void => {
    while (!stopped && !c.closed) {
      if (!c.socket.write(packet)) { pushedBack++; c.socket.once('drain', pump); return }
    }
  }
  pump()
  return { c, stop: () => { stopped = true }, backpressure: () => pushedBack }
}

/** Counts messages a subscriber receives between two moments. */
async function measure (port: number, warmupMs: number, windowMs: number): Promise<number> {
  const sub = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: `sub-${Math.random()}`, reconnectPeriod: 0 })
  let count = 0
  let counting = false
  sub.on('message', () => { if (counting) count++ })
  await sub.subscribeAsync(TOPIC, { qos: 0 })
  await new Promise((resolve) => setTimeout(resolve, warmupMs))
  counting = true
  const start = performance.now()
  await new Promise((resolve) => setTimeout(resolve, windowMs))
  counting = false
  const elapsed = performance.now() - start
  await sub.endAsync()
  return count * WIRE / (elapsed / 1000)
}

let b: InProcessBroker

test.before.each(async () => { b = await startBrokerInProcess(config(40_000)) })
test.after.each(async () => { await b.stop() })

test('a flooding client is held to throttle.client.inboundBytesPerSecond (within 10%) by TCP backpressure', async () => {
  const f = await flood(b.port, 'flooder')
  try {
    const rate = await measure(b.port, 1000, 4000)
    assert.ok(Math.abs(rate - 40_000) / 40_000 < 0.10, `measured ${Math.round(rate)} bytes/s, configured 40000`)
    assert.ok(f.backpressure() > 0, 'the publisher never saw TCP backpressure: the broker buffered instead')
    assert.not.ok(f.c.closed, 'the throttled client was disconnected')
  } finally { f.stop(); f.c.destroy() }
})

test('throttle.set over the control socket changes a connected client\'s rate without dropping it', async () => {
  const f = await flood(b.port, 'flooder')
  try {
    const socket = controlSocketPath(b.broker.config)
    const res = await callControl(socket, 'throttle.set', { client: 'flooder', inboundBytesPerSecond: 80_000 }) as { clients: Array<{ id: string, source: string, rates: { inboundBytesPerSecond: number } }> }
    assert.is(res.clients[0].rates.inboundBytesPerSecond, 80_000)
    assert.is(res.clients[0].source, 'control')
    const rate = await measure(b.port, 1000, 4000)
    assert.ok(Math.abs(rate - 80_000) / 80_000 < 0.10, `measured ${Math.round(rate)} bytes/s after throttle.set, wanted 80000`)
    assert.not.ok(f.c.closed, 'the client was dropped by the change')
    const got = await callControl(socket, 'throttle.get', { client: 'flooder' }) as { clients: Array<{ pausedMs: number }> }
    assert.ok(got.clients[0].pausedMs > 0)
  } finally { f.stop(); f.c.destroy() }
})

test('a config reload (SIGHUP path) changes the rate of connected clients without dropping them', async () => {
  const f = await flood(b.port, 'flooder')
  try {
    const text = config(20_000) + `persistence: { path: ${JSON.stringify(b.dataDir)} }\n`
    const { config: next } = await resolveConfig({ file: parseConfigText(text, 'reload.yaml'), flags: { board: 'generic' } })
    await b.broker.reload(next)
    const rate = await measure(b.port, 1500, 4000)
    assert.ok(Math.abs(rate - 20_000) / 20_000 < 0.10, `measured ${Math.round(rate)} bytes/s after reload, wanted 20000`)
    assert.not.ok(f.c.closed, 'the client was dropped by the reload')
  } finally { f.stop(); f.c.destroy() }
})

test.run()
