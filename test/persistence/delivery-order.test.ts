// With disableCounterDedupe (src/engine/disable-counter-dedupe.ts) an online
// persistent subscriber receives every QoS 1/2 message even when publishes
// finish out of order (retained ones take one more write). Without it aedes
// dropped every retained message of this stream (6/6 in our runs).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt from 'mqtt'
import { disableCounterDedupe } from '../../src/engine/disable-counter-dedupe.ts'
import { killBroker, startBroker, type BrokerProcess } from './broker-process.ts'
import { waitFor } from './kill9-scenario.ts'

const dir = mkdtempSync(join(tmpdir(), 'edgemq-order-'))
const brokers: BrokerProcess[] = []
test.after(async () => { for (const b of brokers) await killBroker(b); rmSync(dir, { recursive: true, force: true }) })

test('disableCounterDedupe makes every counter pass and ignores writes', () => {
  const client = { duplicates: { b1: 99 } as Record<string, number> }
  disableCounterDedupe(client)
  client.duplicates.b1 = 1000
  assert.is(client.duplicates.b1, undefined)
  delete client.duplicates.b1
})

test('an online persistent subscriber gets every message of a mixed retained / QoS 1 / QoS 2 stream', async () => {
  const b = await startBroker(join(dir, 'db'), 0, 'batch')
  brokers.push(b)
  const off = await mqtt.connectAsync({ host: '127.0.0.1', port: b.port, clientId: 'off', clean: false })
  await off.subscribeAsync('o/#', { qos: 2 })
  await off.endAsync()
  const on = await mqtt.connectAsync({ host: '127.0.0.1', port: b.port, clientId: 'on', clean: false })
  const seen = new Set<string>()
  on.on('message', (_t, p) => seen.add(p.toString()))
  await on.subscribeAsync('o/#', { qos: 2 })
  const pub = await mqtt.connectAsync({ host: '127.0.0.1', port: b.port, clientId: 'pub', clean: false })
  const N = 300
  await Promise.all(Array.from({ length: N }, (_, i) => pub.publishAsync(i % 50 === 0 ? `o/r/${i}` : `o/${i % 10}`, `m${i}`, { qos: i % 2 === 0 ? 1 : 2, retain: i % 50 === 0 })))
  await waitFor(() => seen.size === N, 5000)
  assert.equal(Array.from({ length: N }, (_, i) => `m${i}`).filter((m) => !seen.has(m)), [])
  await pub.endAsync(); await on.endAsync()
})

test.run()
