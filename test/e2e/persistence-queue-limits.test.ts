// The offline queue cap on real sockets: a persistent QoS 1 subscriber that was
// away while 20 messages were published gets exactly the newest 5, in order
// (limits.maxQueuedMessages: 5, like Mosquitto's max_queued_messages); and the
// store-wide cap over several subscribers away (persistence.maxQueuedMessagesTotal).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { connect, connectAsync, type MqttClient } from 'mqtt'
import { startBrokerInProcess, type InProcessBroker } from '../helpers/broker-process.ts'
import { waitUntil } from '../helpers/wait-until.ts'

let b: InProcessBroker | undefined
const clients: MqttClient[] = []
test.after.each(async () => {
  for (const c of clients.splice(0)) await c.endAsync(true).catch(() => {})
  await b?.stop()
  b = undefined
})


test('a persistent QoS 1 subscriber back after 20 publishes receives exactly the newest 5, in order', async () => {
  b = await startBrokerInProcess('listeners:\n  - { name: tcp, type: tcp, host: 127.0.0.1, port: 0 }\nlimits: { maxQueuedMessages: 5 }\n')
  const url = `mqtt://127.0.0.1:${b.port}`
  const opts = { clientId: 'ql-sub', clean: false, reconnectPeriod: 0, protocolVersion: 4 as const }
  const sub = await connectAsync(url, opts)
  clients.push(sub)
  await sub.subscribeAsync('ql/t', { qos: 1 })
  await sub.endAsync()

  const pub = await connectAsync(url, { clientId: 'ql-pub', reconnectPeriod: 0 })
  clients.push(pub)
  for (let i = 1; i <= 20; i++) await pub.publishAsync('ql/t', `m${i}`, { qos: 1 })
  // a PUBACK means journaled; the enqueue that drops lands just after: wait for all 15 drops
  await waitUntil('15 queue drops', () => b!.broker.stats().persistenceQueueDropped === 15)

  const got: string[] = []
  // listening before the CONNACK: the queued messages may come in the same TCP read
  const back = connect(url, opts)
  clients.push(back)
  back.on('message', (_topic, payload) => got.push(payload.toString()))
  await waitUntil('5 messages', () => got.length >= 5)
  // anything beyond the 5 would arrive right behind them
  await new Promise((resolve) => setTimeout(resolve, 300))
  assert.equal(got, ['m16', 'm17', 'm18', 'm19', 'm20'])
  assert.is(b.broker.stats().persistenceQueueDropped, 15)
})

test('a reload that lowers limits.maxQueuedMessages applies to the next enqueue, without a restart', async () => {
  b = await startBrokerInProcess('listeners:\n  - { name: tcp, type: tcp, host: 127.0.0.1, port: 0 }\nlimits: { maxQueuedMessages: 100 }\n')
  const url = `mqtt://127.0.0.1:${b.port}`
  const opts = { clientId: 'ql-reload', clean: false, reconnectPeriod: 0, protocolVersion: 4 as const }
  const sub = await connectAsync(url, opts)
  clients.push(sub)
  await sub.subscribeAsync('ql/r', { qos: 1 })
  await sub.endAsync()
  const next = { ...b.broker.config, limits: { ...b.broker.config.limits, maxQueuedMessages: 3 } }
  await b.broker.reload(next)
  const pub = await connectAsync(url, { clientId: 'ql-pub2', reconnectPeriod: 0 })
  clients.push(pub)
  for (let i = 1; i <= 10; i++) await pub.publishAsync('ql/r', `r${i}`, { qos: 1 })
  await waitUntil('7 queue drops', () => b!.broker.stats().persistenceQueueDropped === 7)
  const got: string[] = []
  const back = connect(url, opts)
  clients.push(back)
  back.on('message', (_topic, payload) => got.push(payload.toString()))
  await waitUntil('3 messages', () => got.length >= 3)
  await new Promise((resolve) => setTimeout(resolve, 300))
  assert.equal(got, ['r8', 'r9', 'r10'])
})

test('the store-wide cap (persistence.maxQueuedMessagesTotal) over two subscribers away: the one receiving makes room from its own oldest', async () => {
  b = await startBrokerInProcess('listeners:\n  - { name: tcp, type: tcp, host: 127.0.0.1, port: 0 }\npersistence: { maxQueuedMessagesTotal: 8 }\n')
  const url = `mqtt://127.0.0.1:${b.port}`
  const a = { clientId: 'qt-a', clean: false, reconnectPeriod: 0, protocolVersion: 4 as const }
  const z = { clientId: 'qt-z', clean: false, reconnectPeriod: 0, protocolVersion: 4 as const }
  for (const [opts, topic] of [[a, 'qt/a'], [z, 'qt/z']] as const) {
    const sub = await connectAsync(url, opts)
    clients.push(sub)
    await sub.subscribeAsync(topic, { qos: 1 })
    await sub.endAsync()
  }
  const pub = await connectAsync(url, { clientId: 'qt-pub', reconnectPeriod: 0 })
  clients.push(pub)
  for (let i = 1; i <= 5; i++) await pub.publishAsync('qt/a', `a${i}`, { qos: 1 })
  for (let i = 1; i <= 6; i++) await pub.publishAsync('qt/z', `z${i}`, { qos: 1 })
  // 5 + 6 = 11 > 8: qt-z's own three oldest made room; qt-a keeps its five
  await waitUntil('3 queue drops', () => b!.broker.stats().persistenceQueueDropped === 3)
  const got = new Map<string, string[]>([['qt-a', []], ['qt-z', []]])
  for (const opts of [a, z]) {
    const back = connect(url, opts)
    clients.push(back)
    back.on('message', (_topic, payload) => got.get(opts.clientId)?.push(payload.toString()))
  }
  await waitUntil('8 messages', () => (got.get('qt-a')?.length ?? 0) + (got.get('qt-z')?.length ?? 0) >= 8)
  await new Promise((resolve) => setTimeout(resolve, 300))
  assert.equal(got.get('qt-a'), ['a1', 'a2', 'a3', 'a4', 'a5'])
  assert.equal(got.get('qt-z'), ['z4', 'z5', 'z6'])
  assert.is(b.broker.stats().persistenceQueueDropped, 3)
})

test.run()
