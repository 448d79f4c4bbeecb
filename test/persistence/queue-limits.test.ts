// Per-client bounds of the offline queues (limits.maxQueuedMessages /
// maxQueuedBytes): the oldest queued messages make room, inflight ones stay,
// the figures survive a restart; and a store that closes under a running
// retained lookup ends it quietly instead of crashing the process.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createLevelPersistence, type LevelPersistence } from '../../src/persistence/level-persistence.ts'
import { storeFixture } from './store-fixture.ts'

const { fresh, open, list, pub, remove } = storeFixture('edgemq-ql-')
test.after(remove)
/** The queue of c1 as `payload` or `payload#id` (inflight) or `pubrel#id`. */
async function queueOf (p: LevelPersistence, clientId = 'c1'): Promise<string[]> {
  return (await list(p.outgoingStream({ id: clientId }))).map((m) =>
    m.cmd === 'pubrel' ? `pubrel#${m.messageId}` : `${m.payload.toString().slice(0, 8)}${m.messageId === undefined ? '' : `#${m.messageId}`}`)
}
async function enqueue (p: LevelPersistence, payloads: string[], clients = ['c1'], qos = 1): Promise<Array<Record<string, unknown>>> {
  const sent: Array<Record<string, unknown>> = []
  for (const m of payloads) { const packet = pub(m, qos); sent.push(packet); await p.outgoingEnqueueCombi(clients.map((clientId) => ({ clientId })), packet) }
  return sent
}
const names = (from: number, to: number): string[] => Array.from({ length: to - from + 1 }, (_, i) => `m${from + i}`)

test('the cap by count drops the oldest queued messages and keeps the rest in order', async () => {
  const p = await open(fresh(), { maxQueuedMessages: 5 })
  await enqueue(p, names(1, 12), ['c1', 'c2'])
  assert.equal(await queueOf(p, 'c1'), names(8, 12))
  assert.equal(await queueOf(p, 'c2'), names(8, 12))
  assert.is(p.stats().queueDropped, 14)
  await p.close()
})

test('enqueues issued together, while the figures of the client are still loading, keep publish order', async () => {
  const p = await open(fresh(), { maxQueuedMessages: 5 })
  await Promise.all(names(1, 20).map(async (m) => await p.outgoingEnqueueCombi([{ clientId: 'c1' }], pub(m))))
  assert.equal(await queueOf(p), names(16, 20))
  assert.is(p.stats().queueDropped, 15)
  await p.close()
})

test('the cap by bytes drops the oldest; a message larger than the cap alone is the one dropped', async () => {
  const p = await open(fresh(), { maxQueuedBytes: 3500 })
  // each stored record is the 1000-byte payload plus a small header: three fit in 3500 bytes, four do not
  await enqueue(p, names(1, 10).map((m) => m.padEnd(1000, '.')))
  assert.equal(await queueOf(p), ['m8......', 'm9......', 'm10.....'])
  assert.is(p.stats().queueDropped, 7)
  await enqueue(p, ['huge'.padEnd(4000, '.')])
  assert.equal(await queueOf(p), ['m8......', 'm9......', 'm10.....'])
  assert.is(p.stats().queueDropped, 8)
  await p.close()
})

test('the figures survive a restart: they are reloaded from disk by the first enqueue', async () => {
  const path = fresh()
  const p = await open(path, { maxQueuedMessages: 5 })
  await enqueue(p, names(1, 5))
  assert.is(p.stats().queueDropped, 0)
  await p.close()
  const p2 = await open(path, { maxQueuedMessages: 5 })
  await enqueue(p2, names(6, 8))
  assert.equal(await queueOf(p2), names(4, 8))
  assert.is(p2.stats().queueDropped, 3)
  await p2.close()
})

test('inflight messages are not dropped while an older queued one can be; when all are inflight the new one is', async () => {
  const p = await open(fresh(), { maxQueuedMessages: 3 })
  const sent = await enqueue(p, names(1, 3))
  await p.outgoingUpdate({ id: 'c1' }, { ...sent[0], messageId: 1 }) // sent, awaiting PUBACK
  await enqueue(p, ['m4'])
  assert.equal(await queueOf(p), ['m1#1', 'm3', 'm4'])
  // the drain gave m3 and m4 their packet ids (as aedes does on reconnect)
  const streamed = (await list(p.outgoingStream({ id: 'c1' }))).filter((m) => m.messageId === undefined)
  let id = 3
  for (const m of streamed) await p.outgoingUpdate({ id: 'c1' }, { ...m, messageId: id++ })
  await enqueue(p, ['m5'])
  assert.equal(await queueOf(p), ['m1#1', 'm3#3', 'm4#4'])
  assert.is(p.stats().queueDropped, 2)
  await p.close()
})

test('a QoS 2 message with a stored packet id is still inflight after a restart', async () => {
  const path = fresh()
  const p = await open(path, { maxQueuedMessages: 2 })
  const sent = await enqueue(p, names(1, 2), ['c1'], 2)
  await p.outgoingUpdate({ id: 'c1' }, { ...sent[0], messageId: 9 })
  await p.close()
  const p2 = await open(path, { maxQueuedMessages: 2 })
  await enqueue(p2, ['m3'], ['c1'], 2)
  assert.equal(await queueOf(p2), ['m1#9', 'm3'])
  assert.is(p2.stats().queueDropped, 1)
  await p2.close()
})

test('acknowledged and PUBREL-phase messages leave the count: nothing is dropped for them', async () => {
  const p = await open(fresh(), { maxQueuedMessages: 3 })
  const sent = await enqueue(p, names(1, 3), ['c1'], 2)
  await p.outgoingUpdate({ id: 'c1' }, { ...sent[0], messageId: 1 })
  await p.outgoingUpdate({ id: 'c1' }, { cmd: 'pubrel', messageId: 1 }) // PUBREC received: no payload kept
  await p.outgoingUpdate({ id: 'c1' }, { ...sent[1], messageId: 2 })
  assert.is(String((await p.outgoingClearMessageId({ id: 'c1' }, { messageId: 2 }))?.payload), 'm2')
  await enqueue(p, ['m4', 'm5'], ['c1'], 2)
  assert.equal(await queueOf(p), ['pubrel#1', 'm3', 'm4', 'm5'])
  assert.is(p.stats().queueDropped, 0)
  await enqueue(p, ['m6'], ['c1'], 2)
  assert.equal(await queueOf(p), ['pubrel#1', 'm4', 'm5', 'm6'])
  assert.is(p.stats().queueDropped, 1)
  await p.close()
})

test('a message dropped just before aedes gives it a packet id (its client just came back) is kept as inflight, not an error', async () => {
  const clients: Record<string, unknown> = {}
  const p = createLevelPersistence({ path: fresh(), sync: 'batch', syncInterval: 1000, cacheSize: 1 << 20, writeBufferSize: 1 << 20, maxQueuedMessages: 2 })
  await p.setup({ id: 'b1', clients })
  clients.c1 = {}
  const sent = await enqueue(p, names(1, 2)) // queued (and indexed) while c1 is connected
  delete clients.c1
  sent.push(...await enqueue(p, ['m3'])) // c1 away: m1 makes room
  assert.equal(await queueOf(p), ['m2', 'm3'])
  // c1 is back and aedes's delivery of m1 was already on its way
  clients.c1 = {}
  await p.outgoingUpdate({ id: 'c1' }, { ...sent[0], messageId: 1 })
  assert.equal(await queueOf(p), ['m1#1', 'm2', 'm3'])
  assert.is(String((await p.outgoingClearMessageId({ id: 'c1' }, { messageId: 1 }))?.payload), 'm1')
  assert.equal(await queueOf(p), ['m2', 'm3'])
  await p.close()
})

test('nothing is dropped for a connected client: aedes sends each message as soon as it is queued (issue 11 model-based test)', async () => {
  const p = createLevelPersistence({ path: fresh(), sync: 'batch', syncInterval: 1000, cacheSize: 1 << 20, writeBufferSize: 1 << 20, maxQueuedMessages: 2, refuseNewWhenFull: true })
  await p.setup({ id: 'b1', clients: { c1: {} } })
  await enqueue(p, names(1, 4))
  assert.equal(await queueOf(p), names(1, 4))
  assert.is(p.stats().queueDropped, 0)
  assert.is(p.queueFull('t', 10), false, 'refuse-new does not refuse because of a connected subscriber')
  await p.close()
})

test('refuse-new: a message admitted before its PUBACK is queued even when its subscriber went away and the queue filled before the write (model-based test, seed -1307030268)', async () => {
  const clients: Record<string, unknown> = { c1: {} }
  const p = createLevelPersistence({ path: fresh(), sync: 'batch', syncInterval: 1000, cacheSize: 1 << 20, writeBufferSize: 1 << 20, maxQueuedMessages: 2, refuseNewWhenFull: true })
  await p.setup({ id: 'b1', clients })
  await p.addSubscriptions({ id: 'c1' }, [{ topic: 't', qos: 1 }])
  await enqueue(p, names(1, 3)) // delivered live, not acknowledged: c1 holds 3
  const late = { cmd: 'publish', topic: 't', payload: Buffer.from('m4'), qos: 1, retain: false, dup: false, brokerId: 'b1', brokerCounter: 4 }
  assert.is(p.queueFull('t', 10, late.payload), false, 'c1 is connected: admitted')
  delete clients.c1 // c1 goes away while the message's journal write is on its way
  assert.is(p.queueFull('t', 10), true, 'the next message is refused')
  await p.outgoingEnqueueCombi([{ clientId: 'c1', qos: 1 }], late)
  assert.equal(await queueOf(p), names(1, 4), 'the admitted message is queued over the cap, nothing dropped')
  assert.is(p.stats().queueDropped, 0)
  await p.close()
})

test('refuse-new: an admission counts for its own message only; a payload object used again for a later message is not admitted by it', async () => {
  const clients: Record<string, unknown> = { c1: {} }
  const p = createLevelPersistence({ path: fresh(), sync: 'batch', syncInterval: 1000, cacheSize: 1 << 20, writeBufferSize: 1 << 20, maxQueuedMessages: 2, refuseNewWhenFull: true })
  await p.setup({ id: 'b1', clients })
  await p.addSubscriptions({ id: 'c1' }, [{ topic: 't', qos: 1 }])
  await enqueue(p, names(1, 3))
  const shared = Buffer.from('same')
  const first = { cmd: 'publish', topic: 't', payload: shared, qos: 1, retain: false, dup: false, brokerId: 'b1', brokerCounter: 4 }
  assert.is(p.queueFull('t', 10, shared), false, 'c1 is connected: admitted')
  delete clients.c1
  await p.outgoingEnqueueCombi([{ clientId: 'c1', qos: 1 }], first)
  assert.is((await queueOf(p)).length, 4, 'the admitted message is queued over the cap')
  // the same Buffer in a message that was never admitted (no queueFull call): the cap applies
  const second = { ...first, brokerCounter: 5 }
  await p.outgoingEnqueueCombi([{ clientId: 'c1', qos: 1 }], second)
  assert.is((await queueOf(p)).length, 4, 'a message that was not admitted went over the cap')
  assert.is(p.stats().queueDropped, 1)
  await p.close()
})

test('refuse-new: a subscriber whose connection is closing is away for the decision, though still registered', async () => {
  const p = createLevelPersistence({ path: fresh(), sync: 'batch', syncInterval: 1000, cacheSize: 1 << 20, writeBufferSize: 1 << 20, maxQueuedMessages: 2, refuseNewWhenFull: true })
  await p.setup({ id: 'b1', clients: { c1: {} } })
  await p.addSubscriptions({ id: 'c1' }, [{ topic: 't', qos: 1 }])
  await enqueue(p, names(1, 3))
  assert.is(p.queueFull('t', 10), false, 'registered, no connection check: connected')
  p.isConnectionOpen = () => false // what the engine answers once the socket is closed
  assert.is(p.queueFull('t', 10), true)
  await p.close()
})

test('caps default to off; setQueueLimits turns them on and a lowered cap trims at the next enqueue', async () => {
  const p = await open(fresh())
  await enqueue(p, names(1, 10))
  assert.is((await queueOf(p)).length, 10)
  p.setQueueLimits({ maxMessages: 4, maxBytes: 0 })
  await enqueue(p, ['m11'])
  assert.equal(await queueOf(p), names(8, 11))
  p.setQueueLimits({ maxMessages: 2, maxBytes: 0 })
  await enqueue(p, ['m12'])
  assert.equal(await queueOf(p), names(11, 12))
  assert.is(p.stats().queueDropped, 10)
  p.setQueueLimits({ maxMessages: 0, maxBytes: 0 })
  await enqueue(p, ['m13', 'm14'])
  assert.equal(await queueOf(p), names(11, 14))
  await p.close()
})

test('a retained lookup of "#" still running when the store closes ends quietly (no error event)', async () => {
  const p = await open(fresh())
  for (let i = 0; i < 2000; i++) await p.storeRetained({ cmd: 'publish', topic: `r/${i}`, payload: Buffer.from('x'.repeat(100)), qos: 0, retain: true })
  const s = p.createRetainedStreamCombi(['#'])
  const errors: Error[] = []
  let got = 0
  s.on('error', (err) => errors.push(err))
  s.on('data', () => { got++ })
  const ended = new Promise((resolve) => s.on('close', resolve))
  await p.close()
  await ended
  assert.equal(errors.map((e) => e.message), [])
  assert.ok(got < 2000, `the lookup finished before the close (${got}): the test no longer races it`)
  // a read that starts after the close ends at once
  const late = p.createRetainedStreamCombi(['#'])
  late.on('error', (err) => errors.push(err))
  assert.equal(await list(late), [])
  assert.equal(await list(p.outgoingStream({ id: 'c1' })), [])
  assert.equal(errors.map((e) => e.message), [])
})

test.run()
