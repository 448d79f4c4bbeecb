// LevelPersistence beyond aedes's contract suite: what survives a restart,
// queue order, bounded retained scans, the incoming journal's QoS 2 handling,
// at-rest sealing, sublevels with durable writes, clean close.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { createLevelPersistence, type LevelPersistence, type LevelPersistenceOptions } from '../../src/persistence/level-persistence.ts'

const dir = mkdtempSync(join(tmpdir(), 'edgemq-lp-'))
let n = 0
test.after(() => rmSync(dir, { recursive: true, force: true }))

function fresh (): string { return join(dir, `db-${++n}`) }
function open (path: string, extra: Partial<LevelPersistenceOptions> = {}): LevelPersistence {
  return createLevelPersistence({ path, sync: 'batch', syncInterval: 1000, cacheSize: 1 << 20, writeBufferSize: 1 << 20, ...extra })
}
async function list (s: Readable): Promise<any[]> { const out: any[] = []; for await (const x of s) out.push(x); return out }
const pub = (topic: string, payload: string, counter: number, qos = 1): Record<string, unknown> =>
  ({ cmd: 'publish', topic, payload: Buffer.from(payload), qos, retain: false, dup: false, brokerId: 'b1', brokerCounter: counter })

test('subscriptions, queues, inflight state, incoming QoS 2, retained and wills survive a restart', async () => {
  const path = fresh()
  const p = open(path)
  await p.setup({ id: 'b1' })
  await p.addSubscriptions({ id: 'c1' }, [{ topic: 'a/#', qos: 2, rh: 0, rap: false, nl: false }, { topic: 'b', qos: 0 }])
  for (let i = 1; i <= 5; i++) await p.outgoingEnqueueCombi([{ clientId: 'c1' }], pub(`a/${i}`, `m${i}`, i, i >= 4 ? 2 : 1))
  await p.outgoingUpdate({ id: 'c1' }, { ...pub('a/1', 'm1', 1), messageId: 101 }) // QoS 1: the id is kept in memory only
  await p.outgoingUpdate({ id: 'c1' }, { ...pub('a/4', 'm4', 4, 2), messageId: 104 }) // QoS 2: stored
  await p.outgoingUpdate({ id: 'c1' }, { ...pub('a/5', 'm5', 5, 2), messageId: 105 })
  await p.outgoingUpdate({ id: 'c1' }, { cmd: 'pubrel', messageId: 105 })
  await p.incomingStorePacket({ id: 'c2' }, { cmd: 'publish', topic: 'in/q2', payload: Buffer.from('x'), qos: 2, messageId: 7 })
  await p.storeRetained({ cmd: 'publish', topic: 'r/1', payload: Buffer.from('kept'), qos: 1, retain: true })
  await p.putWill({ id: 'c3' }, { topic: 'w/c3', payload: Buffer.from('bye'), qos: 1, retain: false })
  await p.close()

  const p2 = open(path)
  await p2.setup({ id: 'b2' })
  assert.equal((await p2.subscriptionsByTopic('a/x')).map((s) => s.clientId), ['c1'])
  assert.equal(await p2.countOffline(), { subsCount: 1, clientsCount: 1 })
  const queue = await list(p2.outgoingStream({ id: 'c1' }))
  assert.equal(queue.map((m) => m.cmd === 'pubrel' ? `pubrel:${m.messageId}` : `${m.payload}:${m.messageId}`),
    // a graceful close stores the in-memory QoS 1 id of m1 (sent, not yet acknowledged): resent as DUP with it
    ['m1:101', 'm2:undefined', 'm3:undefined', 'm4:104', 'pubrel:105'])
  assert.is((await p2.incomingGetPacket({ id: 'c2' }, { messageId: 7 })).topic, 'in/q2')
  assert.equal((await list(p2.createRetainedStream('r/+'))).map((m) => m.payload.toString()), ['kept'])
  assert.equal((await list(p2.streamWill({}))).map((w) => [w.clientId, w.brokerId, w.topic]), [['c3', 'b1', 'w/c3']])
  await p2.close()
})

test('after a restart, a message sent for the first time never gets a packet id a stored message further down the queue holds [MQTT-2.2.1-3]', async () => {
  // m2 went out (QoS 2, id 1, stored) before m1 (a live delivery overtook the
  // queue replay), then the process died. The next replay yields m1 first and
  // aedes, numbering ids per connection from 1, gives it id 1: before, m1 kept
  // it (m2 was not indexed yet), two QoS 2 messages were in flight under one id,
  // and a PUBREL for one made the receiver hand the other to its application.
  const path = fresh()
  const p = open(path)
  await p.setup({ id: 'b1' })
  await p.outgoingEnqueueCombi([{ clientId: 'c1' }], pub('a/1', 'm1', 1, 2))
  // more unsent messages than the replay stream reads ahead
  for (let i = 0; i < 50; i++) await p.outgoingEnqueueCombi([{ clientId: 'c1' }], pub('a/f', `f${i}`, 100 + i, 2))
  await p.outgoingEnqueueCombi([{ clientId: 'c1' }], pub('a/2', 'm2', 2, 2))
  await p.outgoingUpdate({ id: 'c1' }, { ...pub('a/2', 'm2', 2, 2), messageId: 1 })
  await p.close()

  const p2 = open(path)
  await p2.setup({ id: 'b2' })
  const ids: Record<string, number> = {}
  let nextId = 1
  for await (const m of p2.outgoingStream({ id: 'c1' })) {
    const packet = { ...m, messageId: m.messageId ?? nextId++ } // aedes's QoSPacket: a stored id is kept, else the connection's next, from 1
    await p2.outgoingUpdate({ id: 'c1' }, packet)
    ids[packet.payload.toString()] = packet.messageId
  }
  assert.is(ids.m2, 1, 'a stored message is resent under its own id')
  assert.is.not(ids.m1, 1, 'the new message got the id the stored one holds')
  // the PUBREL phase of m2 (id 1) moves m2, not m1
  await p2.outgoingUpdate({ id: 'c1' }, { cmd: 'pubrel', messageId: 1 })
  await p2.close()
  const p3 = open(path)
  await p3.setup({ id: 'b3' })
  const queue = await list(p3.outgoingStream({ id: 'c1' }))
  const after = queue.map((m) => m.cmd === 'pubrel' ? `pubrel:${m.messageId}` : `${m.payload}:${m.messageId}`)
  assert.equal([after[0], after[after.length - 1]], [`m1:${ids.m1}`, 'pubrel:1'])
  const held = Object.values(ids)
  assert.is(new Set(held).size, held.length, 'no packet id held twice')
  await p3.close()
})

test('after a restart, a live delivery let go before the queue replay of its client never gets a packet id a stored message holds [MQTT-2.2.1-3]', async () => {
  const path = fresh()
  const p = open(path)
  await p.setup({ id: 'b1' })
  await p.outgoingEnqueueCombi([{ clientId: 'c1' }], pub('a/1', 'm1', 1, 2))
  await p.outgoingUpdate({ id: 'c1' }, { ...pub('a/1', 'm1', 1, 2), messageId: 1 }) // sent, id stored
  await p.close()

  const p2 = open(path)
  await p2.setup({ id: 'b2', clients: { c1: {} } }) // c1 connected: its live deliveries are indexed
  await p2.outgoingEnqueueCombi([{ clientId: 'c1' }], { ...pub('a/2', 'm2', 2, 2), brokerId: 'b2' })
  const live = { ...pub('a/2', 'm2', 2, 2), brokerId: 'b2', messageId: 1 } // aedes's first id on the new connection
  await p2.outgoingUpdate({ id: 'c1' }, live)
  assert.is.not(live.messageId, 1, 'the live message took the id the stored one holds')
  const queue = await list(p2.outgoingStream({ id: 'c1' }))
  assert.equal(queue.map((m) => `${m.payload}:${m.messageId}`), ['m1:1', `m2:${live.messageId}`])
  await p2.close()
})

test('a persistent session without subscriptions is known after a restart until its session ends [MQTT-3.2.2-2]', async () => {
  const path = fresh()
  const p = open(path)
  await p.setup({ id: 'b1' })
  assert.is(p.hasSession('s1'), false)
  await p.rememberSession('s1')
  await p.rememberSession('s2')
  assert.is(p.hasSession('s1'), true)
  await p.close()
  const p2 = open(path)
  await p2.setup({ id: 'b1' })
  assert.equal([p2.hasSession('s1'), p2.hasSession('s2'), p2.hasSession('s3')], [true, true, false])
  const ended = p2.cleanSubscriptions({ id: 's1' }) // aedes ends a session with it (clean start, expiry)
  assert.is(p2.hasSession('s1'), false, 'forgotten before the write lands')
  await ended
  await p2.close()
  const p3 = open(path)
  await p3.setup({ id: 'b1' })
  assert.equal([p3.hasSession('s1'), p3.hasSession('s2')], [false, true])
  await p3.close()
})

test('draining acknowledges in order and leaves an empty queue (one range scan per client)', async () => {
  const p = open(fresh())
  await p.setup({ id: 'b1' })
  for (let i = 1; i <= 300; i++) await p.outgoingEnqueueCombi([{ clientId: 'c1' }, { clientId: 'c2' }], pub('t', `m${i}`, i))
  let id = 0
  for await (const m of p.outgoingStream({ id: 'c1' })) {
    const withId = { ...m, messageId: ++id }
    await p.outgoingUpdate({ id: 'c1' }, withId)
    const cleared = await p.outgoingClearMessageId({ id: 'c1' }, { messageId: id })
    assert.is(String(cleared?.payload), `m${id}`)
  }
  assert.is(id, 300)
  assert.equal(await list(p.outgoingStream({ id: 'c1' })), [])
  assert.is((await list(p.outgoingStream({ id: 'c2' }))).length, 300, 'the other client keeps its queue')
  await p.close()
})

test('a message matching several subscriptions of one client is queued once', async () => {
  const p = open(fresh())
  await p.setup({ id: 'b1' })
  await p.outgoingEnqueueCombi([{ clientId: 'c1' }, { clientId: 'c1' }], pub('a/b', 'once', 1))
  assert.is((await list(p.outgoingStream({ id: 'c1' }))).length, 1)
  await p.close()
})

test('a retained lookup with a literal prefix scans only that prefix range', async () => {
  const p = open(fresh())
  await p.setup({ id: 'b1' })
  for (let i = 0; i < 200; i++) await p.storeRetained({ cmd: 'publish', topic: `other/${i}`, payload: Buffer.from('x'), qos: 0, retain: true })
  for (let i = 0; i < 3; i++) await p.storeRetained({ cmd: 'publish', topic: `site/3/${i}/temp`, payload: Buffer.from(`t${i}`), qos: 0, retain: true })
  const db = (p as unknown as { db: { iterator: (o: any) => any } }).db
  const original = db.iterator.bind(db)
  const ranges: any[] = []
  db.iterator = (o: any) => { ranges.push(o); return original(o) }
  const got = await list(p.createRetainedStreamCombi(['site/3/+/temp', 'site/3/#']))
  assert.equal(got.map((m) => m.topic), ['site/3/0/temp', 'site/3/1/temp', 'site/3/2/temp'])
  assert.is(ranges.length, 1)
  assert.is(ranges[0].gte.toString(), 'Rsite/3')
  assert.is(ranges[0].lt.toString(), 'Rsite/4')
  db.iterator = original
  await p.close()
})

test('QoS 2 journal: the first delivery is routed once, a retransmission is not journaled again', async () => {
  const path = fresh()
  const p = open(path)
  await p.setup({ id: 'b1' })
  const packet = { cmd: 'publish', topic: 'q2', payload: Buffer.from('exactly-once'), qos: 2, messageId: 9, retain: false, dup: false }
  await p.journalIncoming('pubber', packet)
  assert.is(p.stats().journalPending, 1)
  // aedes: incomingGetPacket must say "new" for the first delivery, then store it
  const first = await p.incomingGetPacket({ id: 'pubber' }, packet).then(() => 'found', () => 'not found')
  assert.is(first, 'not found', 'first delivery looked like a duplicate')
  await p.incomingStorePacket({ id: 'pubber' }, packet)
  await p.outgoingEnqueueCombi([], { ...packet, brokerId: 'b1', brokerCounter: 1 }) // aedes routes it: ends the journal entry atomically
  assert.is(p.stats().journalPending, 0)
  // the client retransmits before PUBREL: stored, so not journaled and not routed again
  const again = { ...packet, payload: Buffer.from('exactly-once'), dup: true }
  await p.journalIncoming('pubber', again)
  assert.is(p.stats().journalPending, 0)
  assert.is(String((await p.incomingGetPacket({ id: 'pubber' }, again)).payload), 'exactly-once')
  await p.close()
})

test('journal entries left by a crash are replayed in order, then removed', async () => {
  const path = fresh()
  const p = open(path)
  await p.setup({ id: 'b1' })
  for (let i = 1; i <= 3; i++) await p.journalIncoming('pubber', { cmd: 'publish', topic: `j/${i}`, payload: Buffer.from(`j${i}`), qos: 1, messageId: i, retain: i === 2, properties: i === 3 ? { contentType: 'text/plain' } : undefined })
  await p.journalIncoming('pubber', { cmd: 'publish', topic: 'q0', payload: Buffer.from('no'), qos: 0 }) // QoS 0 is never journaled
  // no close(): the process "dies" with the entries unrouted
  await (p as unknown as { queue: { close: () => Promise<void> } }).queue.close()
  await (p as unknown as { db: { close: () => Promise<void> } }).db.close()

  const p2 = open(path)
  await p2.setup({ id: 'b2' })
  const seen: any[] = []
  const count = await p2.replayJournal(async (packet) => {
    seen.push(packet)
    await p2.outgoingEnqueueCombi([{ clientId: 'sub' }], packet) // what aedes's publish pipeline does
  })
  assert.is(count, 3)
  assert.equal(seen.map((m) => [m.topic, m.payload.toString(), m.qos, m.retain, m.clientId]), [['j/1', 'j1', 1, false, 'pubber'], ['j/2', 'j2', 1, true, 'pubber'], ['j/3', 'j3', 1, false, 'pubber']])
  assert.equal(seen[2].properties, { contentType: 'text/plain' })
  assert.is(p2.stats().journalReplayed, 3)
  assert.is(await p2.replayJournal(async () => {}), 0, 'nothing left to replay')
  await p2.close()
})

test('with a value cipher nothing readable is stored, and a value that does not open is quarantined', async () => {
  const path = fresh()
  const key = 0x5a
  const cipher = { seal: (b: Uint8Array) => Uint8Array.from([0xee, ...b.map((x) => x ^ key)]), open: (b: Uint8Array) => { if (b[0] !== 0xee) throw new Error('bad tag'); return b.subarray(1).map((x) => x ^ key) } }
  const p = open(path, { valueCipher: cipher })
  await p.setup({ id: 'b1' })
  await p.storeRetained({ cmd: 'publish', topic: 'secret/1', payload: Buffer.from('plaintext-reading'), qos: 0, retain: true })
  await p.close()
  const { readdirSync, readFileSync } = await import('node:fs')
  const onDisk = readdirSync(path).map((f) => readFileSync(join(path, f))).reduce((a, b) => Buffer.concat([a, b]), Buffer.alloc(0))
  assert.is(onDisk.indexOf('plaintext-reading'), -1)
  const p2 = open(path, { valueCipher: cipher })
  await p2.setup({ id: 'b2' })
  assert.equal((await list(p2.createRetainedStream('#'))).map((m) => m.payload.toString()), ['plaintext-reading'])
  await p2.close()
  const p3 = open(path, { valueCipher: { seal: (b) => b, open: () => { throw new Error('wrong key') } } })
  await p3.setup({ id: 'b3' })
  assert.equal(await list(p3.createRetainedStream('#')), [])
  assert.is(p3.stats().quarantined, 1)
  await p3.close()
})

test('sublevels of other parts share the store; durable writes survive a restart and never collide with aedes data', async () => {
  const path = fresh()
  const p = open(path)
  await p.setup({ id: 'b1' })
  const bans = p.sublevel<Buffer>('bans', { valueEncoding: 'buffer' })
  await p.durablePut(bans, 'ip:10.0.0.9', Buffer.from('until-123'))
  await p.durableBatch(bans, [{ type: 'put', key: 'ip:10.0.0.10', value: Buffer.from('x') }, { type: 'del', key: 'ip:10.0.0.10' }])
  assert.throws(() => p.sublevel('Bad Name'), /lower-case/)
  await p.close()
  const p2 = open(path)
  await p2.setup({ id: 'b2' })
  const bans2 = p2.sublevel<Buffer>('bans', { valueEncoding: 'buffer' })
  assert.equal(await bans2.keys().all(), ['ip:10.0.0.9'])
  assert.equal(await list(p2.createRetainedStream('#')), [])
  await p2.close()
})

test('close finishes writes in flight, is idempotent, and the store reopens clean', async () => {
  const path = fresh()
  const p = open(path, { sync: 'always' })
  await p.setup({ id: 'b1' })
  const writes = Array.from({ length: 50 }, (_, i) => p.storeRetained({ cmd: 'publish', topic: `c/${i}`, payload: Buffer.from('v'), qos: 0, retain: true }))
  await p.close()
  await Promise.all(writes)
  await p.close()
  const p2 = open(path)
  await p2.setup({ id: 'b2' })
  assert.is((await list(p2.createRetainedStream('c/#'))).length, 50)
  assert.is(p2.stats().open, 'opened')
  await p2.destroy()
})

test.run()
