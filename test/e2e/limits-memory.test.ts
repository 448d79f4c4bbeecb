// The memory budget on real sockets, with the memory reading injected (the
// real reading is exercised by the cgroup run in test/cgroup): above the soft
// mark new connections are refused with a reason and new retained messages
// refused while connected clients carry on; above the hard mark the heaviest
// client is disconnected and the idle ones stay.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createLimits } from '../../src/limits/attach-limits.ts'
import type { MemorySample } from '../../src/limits/memory-probe.ts'
import { createLogger } from '../../src/observability/logger.ts'
import { RawMqtt } from '../helpers/raw-mqtt.ts'
import { startBrokerInProcess, type InProcessBroker } from '../helpers/broker-process.ts'

const MiB = 1024 * 1024
let used = 10 * MiB
const probe = (): MemorySample => ({ rss: used, used })
let limits: Awaited<ReturnType<typeof createLimits>>
let b: InProcessBroker
const lines: string[] = []

test.before.each(async () => {
  used = 10 * MiB
  b = await startBrokerInProcess('listeners:\n  - { name: tcp, type: tcp, host: 127.0.0.1, port: 0 }\nmemory: { softMark: 100MB, hardMark: 120MB, checkInterval: 60s }\n', {
    parts: [async (ctx) => (limits = await createLimits(ctx, { probe }))],
    logger: createLogger({ level: 'info', sink: (line) => { lines.push(line) } })
  })
})
test.after.each(async () => { await b.stop() })

test('above the soft mark: CONNECT refused with 0x89 and a reason, retained refused, connected clients unaffected', async () => {
  const { c: old } = await RawMqtt.connected(b.port, 5, { clientId: 'old' })
  used = 105 * MiB
  limits.checkMemory()
  assert.is(limits.budget.state, 'soft')
  const v5 = await RawMqtt.connected(b.port, 5)
  // 0x89 Server busy, as the part decides (src/engine/connack-reason-code.ts; aedes alone sent 0x88).
  assert.is(v5.connack.reasonCode, 0x89, `CONNACK ${v5.connack.reasonCode}`)
  // aedes 2.0.0-beta.1 sends no reason string on a refused CONNECT: the reason is in the log line.
  assert.ok(lines.some((l) => l.includes('connection refused') && l.includes('memory.softMark')), lines.join('\n'))
  const v4 = await RawMqtt.connected(b.port, 4)
  assert.is(v4.connack.returnCode, 3) // server unavailable
  old.send({ cmd: 'publish', topic: 'keep/on', payload: Buffer.from('x'), qos: 1, messageId: 1 })
  assert.is((await old.next('puback')).reasonCode ?? 0, 0)
  old.send({ cmd: 'publish', topic: 'keep/retained', payload: Buffer.from('x'), qos: 1, retain: true, messageId: 2 })
  assert.ok(((await old.next('puback')).reasonCode ?? 0) >= 0x80, 'a new retained message was accepted above the soft mark')
  used = 50 * MiB
  limits.checkMemory()
  assert.is(limits.budget.state, 'ok')
  const again = await RawMqtt.connected(b.port, 5)
  assert.is(again.connack.reasonCode, 0)
  await again.c.disconnect()
  await old.disconnect()
})

test('above the hard mark: the heaviest client is disconnected (0x97), idle clients stay, new sockets are refused', async () => {
  const { c: idle } = await RawMqtt.connected(b.port, 5, { clientId: 'idle' })
  const { c: heavy } = await RawMqtt.connected(b.port, 5, { clientId: 'heavy' })
  for (let i = 0; i < 200; i++) heavy.send({ cmd: 'publish', topic: 'big', payload: Buffer.alloc(1000), qos: 0 })
  heavy.send({ cmd: 'pingreq' })
  await heavy.next('pingresp')
  used = 130 * MiB
  limits.checkMemory()
  assert.is(limits.budget.state, 'hard')
  const d = await heavy.next('disconnect')
  assert.is(d.reasonCode, 0x97)
  idle.send({ cmd: 'pingreq' })
  await idle.next('pingresp')
  const refused = await RawMqtt.open(b.port, 5)
  await refused.closedByBroker(2000)
  assert.is(limits.counters.disconnectedHeavy, 1)
  used = 10 * MiB
  limits.checkMemory()
  await idle.disconnect()
})

test('QoS 0 to a slow consumer is shed above the soft mark and past maxQueuedBytes; QoS 1 never', async () => {
  const { c } = await RawMqtt.connected(b.port, 5, { clientId: 'slow' })
  await new Promise((resolve) => setTimeout(resolve, 50))
  const deliver = b.broker.hooks.deliver.at(-1) as (info: unknown, topic: string, packet?: { qos: number, payload: Buffer }) => boolean
  let pending = 0
  const info = { id: 'slow', ip: '127.0.0.1', port: 0, listener: 'tcp', protocolVersion: 5, groups: [], overrides: {}, connection: { pendingWrite: () => pending, bytesRead: () => 0, bytesWritten: () => 0, pause () {}, resume () {}, close () {} } }
  pending = 100 * 1024 // above memory.slowConsumerBytes (64 KiB)
  assert.ok(deliver(info, 't', { qos: 0, payload: Buffer.from('x') }), 'shed below the soft mark')
  used = 105 * MiB
  limits.checkMemory()
  assert.not.ok(deliver(info, 't', { qos: 0, payload: Buffer.from('x') }))
  assert.ok(deliver(info, 't', { qos: 1, payload: Buffer.from('x') }))
  used = 10 * MiB
  limits.checkMemory()
  pending = 9 * MiB // past limits.maxQueuedBytes (8 MiB)
  assert.not.ok(deliver(info, 't', { qos: 0, payload: Buffer.from('x') }))
  assert.ok(limits.counters.shedQos0 >= 2)
  await c.disconnect()
})

test.run()
