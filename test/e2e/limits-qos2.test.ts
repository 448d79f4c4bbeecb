// Failure-modes row 10 on real sockets: a client that sends QoS 2 PUBLISHes
// and never releases them is cut off at limits.maxUnreleasedQos2 with
// DISCONNECT 0x93; others are unaffected; unreleased messages expire.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { callControl } from '../../src/control/control-client.ts'
import { controlSocketPath } from '../../src/control/control-path.ts'
import { RawMqtt } from '../helpers/raw-mqtt.ts'
import { startBrokerInProcess, type InProcessBroker } from '../helpers/broker-process.ts'

// maxInflight (the Receive Maximum, enforced for v5 since issue 9) is set above
// maxUnreleasedQos2 where that limit is what a test is about.
let b: InProcessBroker
test.after.each(async () => { await b.stop() })

test('the QoS 2 past limits.maxUnreleasedQos2 without PUBREL gets DISCONNECT 0x93', async () => {
  b = await startBrokerInProcess('listeners:\n  - { name: tcp, type: tcp, host: 127.0.0.1, port: 0 }\nlimits: { maxUnreleasedQos2: 100, maxInflight: 1000 }\n')
  const { c } = await RawMqtt.connected(b.port, 5, { clientId: 'hoarder' })
  for (let id = 1; id <= 100; id++) {
    c.send({ cmd: 'publish', topic: 'q2/x', payload: Buffer.from('p'), qos: 2, messageId: id })
    assert.is((await c.next('pubrec')).reasonCode ?? 0, 0)
  }
  c.send({ cmd: 'publish', topic: 'q2/x', payload: Buffer.from('p'), qos: 2, messageId: 101 })
  const d = await c.next('disconnect', 5000)
  assert.is(d.reasonCode, 0x93)
  await c.closedByBroker()
})

test('65,535 pipelined unreleased QoS 2 from one client: cut off, another client still served', async () => {
  b = await startBrokerInProcess('listeners:\n  - { name: tcp, type: tcp, host: 127.0.0.1, port: 0 }\nlimits: { maxUnreleasedQos2: 100, maxInflight: 1000 }\n')
  const { c: other } = await RawMqtt.connected(b.port, 5, { clientId: 'other' })
  const { c } = await RawMqtt.connected(b.port, 5, { clientId: 'hoarder' })
  for (let id = 1; id <= 65_535 && !c.closed; id++) {
    c.send({ cmd: 'publish', topic: 'q2/x', payload: Buffer.from('p'), qos: 2, messageId: id })
    if (id % 1000 === 0) await new Promise((resolve) => setImmediate(resolve))
  }
  // The broker closes it (with unread bytes in its buffer the close is a reset, so the DISCONNECT may be lost).
  await c.closedByBroker(5000)
  const limits = await callControl(controlSocketPath(b.broker.config), 'limits.get') as { counters: { qos2Exceeded: number } }
  assert.ok(limits.counters.qos2Exceeded >= 1)
  other.send({ cmd: 'publish', topic: 'q2/y', payload: Buffer.from('p'), qos: 2, messageId: 1 })
  assert.is((await other.next('pubrec')).messageId, 1)
  other.send({ cmd: 'pubrel', messageId: 1 })
  assert.is((await other.next('pubcomp')).messageId, 1)
  await other.disconnect()
})

test('released QoS 2 do not count; unreleased ones expire after limits.qos2Expiry', async () => {
  b = await startBrokerInProcess('listeners:\n  - { name: tcp, type: tcp, host: 127.0.0.1, port: 0 }\nlimits: { maxUnreleasedQos2: 10, qos2Expiry: 1s }\nmemory: { checkInterval: 100ms }\n')
  const { c } = await RawMqtt.connected(b.port, 5, { clientId: 'q2' })
  // 50 released one by one: never more than one unreleased.
  for (let id = 1; id <= 50; id++) {
    c.send({ cmd: 'publish', topic: 'q2/x', payload: Buffer.from('p'), qos: 2, messageId: id })
    await c.next('pubrec')
    c.send({ cmd: 'pubrel', messageId: id })
    await c.next('pubcomp')
  }
  // 10 left unreleased, then wait past the expiry: 10 more fit.
  for (let id = 100; id < 110; id++) c.send({ cmd: 'publish', topic: 'q2/x', payload: Buffer.from('p'), qos: 2, messageId: id })
  for (let i = 0; i < 10; i++) await c.next('pubrec')
  await new Promise((resolve) => setTimeout(resolve, 1500))
  for (let id = 200; id < 210; id++) c.send({ cmd: 'publish', topic: 'q2/x', payload: Buffer.from('p'), qos: 2, messageId: id })
  for (let i = 0; i < 10; i++) await c.next('pubrec')
  assert.not.ok(c.closed)
  const limits = await callControl(controlSocketPath(b.broker.config), 'limits.get') as { counters: { qos2Expired: number, qos2Exceeded: number } }
  assert.is(limits.counters.qos2Expired, 10)
  assert.is(limits.counters.qos2Exceeded, 0)
  await c.disconnect()
})

test.run()
