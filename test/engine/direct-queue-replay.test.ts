// Canary and behaviour of src/engine/direct-queue-replay.ts: edgemq replays a
// reconnecting persistent session's queue itself, in place of aedes's
// emptyQueue stream pipeline. The canary checks, on the pinned aedes
// 2.0.0-beta.1, the code the override copies (emptyQueue, emptyQueueFilter,
// QoSPacket, write) and that aedes's CONNECT waits for a stream that yields
// nothing and ends late. The behaviour runs on edgemq in this process, real
// sockets: order, DUP and packet ids [MQTT-3.3.1-1] [MQTT-4.4.0-1], the
// Receive Maximum [MQTT-3.3.4-7], a socket that stops reading, a connection
// cut mid-replay.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Readable } from 'node:stream'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { directReplays, ReplayPacket } from '../../src/engine/direct-queue-replay.ts'
import type { AedesClient, AedesInternals } from '../../src/engine/v5-shim-context.ts'
import { REPO_ROOT, startBrokerInProcess, type InProcessBroker } from '../helpers/broker-process.ts'
import { RawMqtt, type AnyPacket } from '../helpers/raw-mqtt.ts'
import { startPinnedAedes } from './pinned-aedes.ts'

const connectJs = readFileSync(join(REPO_ROOT, 'node_modules/aedes/lib/handlers/connect.js'), 'utf8')
const writeJs = readFileSync(join(REPO_ROOT, 'node_modules/aedes/lib/write.js'), 'utf8')
// aedes's own class (lib/ is not in its exports: loaded by path)
const { default: QoSPacket } = await import(pathToFileURL(join(REPO_ROOT, 'node_modules/aedes/lib/qos-packet.js')).href) as { default: new (original: AnyPacket, client: object) => object }

const until = async (check: () => boolean, what: string, ms = 3000): Promise<void> => {
  for (let t = 0; t < ms && !check(); t += 10) await new Promise((resolve) => setTimeout(resolve, 10))
  assert.ok(check(), what)
}

test('canary: the pinned aedes replays the queue with the steps the override copies', () => {
  for (const step of [
    'const outgoing = persistence.outgoingStream(client)',
    'client.resume()',
    'data.properties.messageExpiryInterval = Math.ceil((data.messageExpiry - now) / 1000)',
    'const packet = new QoSPacket(data, client)',
    'persistence.outgoingUpdate(client, packet)',
    "client.emit('error', err)",
    'client.broker.authorizeForward(client, packet)',
    'const expired = packet.messageExpiry !== undefined && packet.messageExpiry <= Date.now()',
    'if (client.clean || client._cleanStart || !authorized || expired) {',
    'persistence.outgoingClearMessageId(client, packet)',
    'write(client, packet, next)'
  ]) assert.ok(connectJs.includes(step), `connect.js: ${step}`)
  for (const step of [
    'if (client.connecting || client.connected) {',
    'mqtt.writeToStream(packet, client.conn, WRITE_OPTS[version])',
    'client.waitForDrain(done)',
    "error = new Error('packet received not valid', { cause: e })",
    "error = new Error('connection closed')"
  ]) assert.ok(writeJs.includes(step), `write.js: ${step}`)
})

test('canary: aedes asks for the stream while the client is connecting to replay it, and once it is not to clear it (emptyOutgoingQueue)', async () => {
  const clientJs = readFileSync(join(REPO_ROOT, 'node_modules/aedes/lib/client.js'), 'utf8')
  assert.ok(connectJs.includes('client.connecting = true'), 'handleConnect sets connecting')
  assert.ok(connectJs.includes('this.client.connecting = false'), 'the CONNECT series clears it after its last step (emptyQueue)')
  assert.ok(clientJs.includes('emptyOutgoingQueue (done) {'), 'client.js: emptyOutgoingQueue')
  assert.ok(clientJs.includes('persistence.outgoingClearMessageId(client, packet)'), 'emptyOutgoingQueue clears what the stream yields')
  const broker = await startPinnedAedes()
  try {
    const internals = broker.aedes as unknown as AedesInternals
    const asked: Array<{ connecting: boolean, connected: boolean }> = []
    const outgoingStream = internals.persistence.outgoingStream.bind(internals.persistence)
    internals.persistence.outgoingStream = (c) => {
      const client = c as unknown as { connecting: boolean, connected: boolean }
      asked.push({ connecting: client.connecting, connected: client.connected })
      return outgoingStream(c)
    }
    const { c } = await RawMqtt.connected(broker.port, 5, { clientId: 'wiped', clean: false, properties: { sessionExpiryInterval: 1 } })
    await until(() => asked.length === 1, 'the CONNECT asks for the stream')
    assert.equal(asked[0], { connecting: true, connected: false }, 'the replay of a CONNECT')
    c.destroy()
    await until(() => asked.length === 2, 'the expired session\'s wipe asks for it', 4000)
    assert.equal(asked[1], { connecting: false, connected: false }, 'the clearing of an ended session')
  } finally {
    await broker.close()
  }
})

test('canary: ReplayPacket has the own fields, values and packet ids of aedes\'s QoSPacket', () => {
  const broker = { id: 'b1', counter: 7 }
  const stored: AnyPacket[] = [
    { cmd: 'publish', brokerId: 'b0', brokerCounter: 3, topic: 't', payload: Buffer.from('x'), qos: 1, retain: false, dup: false },
    { cmd: 'publish', brokerId: 'b0', brokerCounter: 4, topic: 't', payload: Buffer.from('y'), qos: 2, retain: true, dup: true, messageId: 42 },
    { cmd: 'publish', topic: 't/0', payload: Buffer.from('z'), qos: 0 },
    { cmd: 'pubrel', messageId: 9 },
    { cmd: 'publish', clientId: 'pub', nl: true, properties: { userProperties: { a: '1' } }, messageExpiry: 123, brokerId: 'b0', brokerCounter: 5, topic: 'v', payload: Buffer.alloc(0), qos: 1, retain: false, dup: false }
  ]
  for (const startId of [1, 65_535]) {
    const aedesClient = { broker, _nextId: startId, _onError () {} }
    const ourClient = { broker: { ...broker }, _nextId: startId }
    for (const data of stored) {
      const theirs = new QoSPacket({ ...data }, aedesClient) as unknown as Record<string, unknown>
      const ours = new ReplayPacket({ ...data }, ourClient as never) as unknown as Record<string, unknown>
      const keys = Object.keys(theirs).filter((k) => k !== 'writeCallback')
      assert.equal(Object.keys(ours), keys, `own fields of ${JSON.stringify(data)}`)
      for (const k of keys) assert.equal(ours[k], theirs[k], `${k} of ${JSON.stringify(data)}`)
    }
    assert.is(ourClient._nextId, aedesClient._nextId, 'the client\'s next packet id (65535 wraps to 1)')
    assert.is(ourClient.broker.counter, broker.counter, 'the broker counter for a stored message without one')
  }
})

test('canary: aedes\'s CONNECT ends when a stream that yields nothing ends, and fails with it', async () => {
  const broker = await startPinnedAedes()
  try {
    const internals = broker.aedes as unknown as AedesInternals
    const clients: AedesClient[] = []
    const handle = internals.handle
    internals.handle = function (conn, req) { const c = handle.call(this, conn, req); clients.push(c); return c }
    let finish: ((err?: Error) => void) | undefined
    internals.persistence.outgoingStream = () => {
      const s = new Readable({ objectMode: true, read () {} })
      finish = (err) => { if (err !== undefined) s.destroy(err); else s.push(null) }
      return s
    }
    const ready: string[] = []
    broker.aedes.on('clientReady', (c: { id: string }) => ready.push(c.id))
    const { c: one } = await RawMqtt.connected(broker.port, 4, { clientId: 'late', clean: false })
    await until(() => finish !== undefined, 'the queue is asked for')
    await new Promise((resolve) => setTimeout(resolve, 100))
    assert.equal(ready, [], 'not ready while the replay runs')
    finish!()
    await until(() => ready.length === 1, 'ready once the stream ends')
    one.destroy()
    finish = undefined
    const { c: two } = await RawMqtt.connected(broker.port, 4, { clientId: 'failing', clean: false })
    await until(() => finish !== undefined, 'the queue is asked for')
    finish!(new Error('read failed'))
    await two.closedByBroker()
    assert.equal(ready, ['late'], 'a failed replay fails the CONNECT')
  } finally {
    await broker.close()
  }
})

let b: InProcessBroker | undefined
const open: RawMqtt[] = []
test.after.each(async () => {
  for (const c of open.splice(0)) c.destroy()
  await b?.stop()
  b = undefined
})

/** Subscribes `clientId` persistently, leaves, and has `count` QoS 1 messages queued for it (payload: its index, padded to `size`). */
async function queueFor (version: 4 | 5, clientId: string, count: number, size = 8): Promise<void> {
  b ??= await startBrokerInProcess()
  const session = version === 5 ? { clean: false, properties: { sessionExpiryInterval: 300 } } : { clean: false }
  const { c: sub } = await RawMqtt.connected(b.port, version, { clientId, ...session })
  open.push(sub)
  sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: `dr/${clientId}`, qos: 1 }] })
  await sub.next('suback')
  await sub.disconnect()
  const { c: pub } = await RawMqtt.connected(b.port, 4)
  open.push(pub)
  for (let i = 0; i < count; i++) {
    pub.send({ cmd: 'publish', topic: `dr/${clientId}`, payload: String(i).padStart(size, '0'), qos: 1, messageId: 1 + (i % 60_000) })
    await pub.next('puback')
  }
}

/** Receives `count` publishes in order (payload index i), acknowledging each unless `ack` is false. */
async function receiveAll (c: RawMqtt, count: number, ack = true): Promise<AnyPacket[]> {
  const got: AnyPacket[] = []
  for (let i = 0; i < count; i++) {
    const p = await c.next('publish', 5000)
    assert.is(Number(p.payload.toString()), i, `message ${i} in order`)
    got.push(p)
    if (ack) c.send({ cmd: 'puback', messageId: p.messageId })
  }
  return got
}

test('[MQTT-4.4.0-1] [MQTT-3.3.1-1] a returning 3.1.1 session gets its queue in order; sent again after a cut, with DUP 1 and the same packet ids', async () => {
  await queueFor(4, 'dq-a', 300)
  const before = directReplays.count
  const { c: first, connack } = await RawMqtt.connected(b!.port, 4, { clientId: 'dq-a', clean: false })
  open.push(first)
  assert.is(connack.sessionPresent, true)
  const sent = await receiveAll(first, 300, false)
  assert.ok(directReplays.count > before, 'served by the direct replay')
  assert.ok(sent.every((p) => p.dup === false && p.qos === 1), 'first sent: DUP 0')
  assert.is(new Set(sent.map((p) => p.messageId)).size, 300, 'distinct packet ids')
  first.destroy()
  await new Promise((resolve) => setTimeout(resolve, 100))
  const { c: again } = await RawMqtt.connected(b!.port, 4, { clientId: 'dq-a', clean: false })
  open.push(again)
  const resent = await receiveAll(again, 300)
  assert.ok(resent.every((p) => p.dup === true), 'resent: DUP 1')
  assert.equal(resent.map((p) => p.messageId), sent.map((p) => p.messageId), 'the same packet ids')
  assert.ok(await again.nothing('publish', 300), 'nothing more')
  again.destroy()
  await new Promise((resolve) => setTimeout(resolve, 100))
  const { c: last } = await RawMqtt.connected(b!.port, 4, { clientId: 'dq-a', clean: false })
  open.push(last)
  assert.ok(await last.nothing('publish', 300), 'acknowledged messages are not sent again')
})

test('[MQTT-3.3.4-7] a returning v5 session never has more unacknowledged messages than its Receive Maximum', async () => {
  await queueFor(5, 'dq-v5', 40)
  const { c } = await RawMqtt.connected(b!.port, 5, { clientId: 'dq-v5', clean: false, properties: { sessionExpiryInterval: 300, receiveMaximum: 3 } })
  open.push(c)
  const first = [await c.next('publish'), await c.next('publish'), await c.next('publish')]
  assert.ok(await c.nothing('publish', 300), 'a fourth waits for an acknowledgement')
  let i = 0
  for (const p of first) { assert.is(Number(p.payload.toString()), i++); c.send({ cmd: 'puback', messageId: p.messageId }) }
  for (; i < 40; i++) {
    const p = await c.next('publish')
    assert.is(Number(p.payload.toString()), i, `message ${i} in order`)
    c.send({ cmd: 'puback', messageId: p.messageId })
  }
})

test('[MQTT-4.1.0-2] a v5 session that expired while away is not resumed: its queue is cleared, not sent to the next session (the model-based test\'s case)', async () => {
  b ??= await startBrokerInProcess()
  const session = { clean: false, properties: { sessionExpiryInterval: 1 } }
  const { c: sub } = await RawMqtt.connected(b.port, 5, { clientId: 'dq-expired', ...session })
  open.push(sub)
  sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'dr/expired', qos: 2 }] })
  await sub.next('suback')
  await sub.disconnect()
  const { c: pub } = await RawMqtt.connected(b.port, 5)
  open.push(pub)
  pub.send({ cmd: 'publish', topic: 'dr/expired', payload: 'of the ended session', qos: 1, messageId: 1 })
  await pub.next('puback')
  await new Promise((resolve) => setTimeout(resolve, 2600))
  const { c: back, connack } = await RawMqtt.connected(b.port, 5, { clientId: 'dq-expired', clean: false, properties: { sessionExpiryInterval: 3600 } })
  open.push(back)
  assert.is(connack.sessionPresent, false, 'the session ended')
  assert.ok(await back.nothing('publish', 500), 'nothing of the ended session arrives')
})

test('a session that stops reading gets its whole queue, in order, once it reads again (the socket\'s buffer fills)', async () => {
  await queueFor(4, 'dq-slow', 120, 32 * 1024)
  const c = await RawMqtt.open(b!.port, 4)
  open.push(c)
  c.socket.pause()
  c.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: false, keepalive: 60, clientId: 'dq-slow' })
  await new Promise((resolve) => setTimeout(resolve, 400))
  c.socket.resume()
  assert.is((await c.next('connack')).sessionPresent, true)
  await receiveAll(c, 120)
})

test('a connection cut in the middle of its replay loses nothing: the next one gets the rest', async () => {
  await queueFor(4, 'dq-cut', 400, 4 * 1024)
  const { c: first } = await RawMqtt.connected(b!.port, 4, { clientId: 'dq-cut', clean: false })
  open.push(first)
  const acked = new Set<number>()
  for (let i = 0; i < 50; i++) {
    const p = await first.next('publish')
    first.send({ cmd: 'puback', messageId: p.messageId })
    acked.add(Number(p.payload.toString()))
  }
  first.destroy()
  await new Promise((resolve) => setTimeout(resolve, 200))
  const { c: again } = await RawMqtt.connected(b!.port, 4, { clientId: 'dq-cut', clean: false })
  open.push(again)
  const rest: number[] = []
  for (;;) {
    const p = await again.next('publish', 1000).catch(() => undefined)
    if (p === undefined) break
    again.send({ cmd: 'puback', messageId: p.messageId })
    rest.push(Number(p.payload.toString()))
  }
  const all = new Set([...acked, ...rest])
  for (let i = 0; i < 400; i++) assert.ok(all.has(i), `message ${i} arrived`)
  assert.equal(rest, [...rest].sort((x, y) => x - y), 'in order')
})

test.run()
