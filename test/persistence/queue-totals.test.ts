// The running totals of the offline queues (edgemq_offline_queue_*, issue 12)
// and the shared budgets of a user's or group's client ids (issue 14), on a
// real LevelDB: the total equals what the store holds after every kind of
// change (enqueue, drop, acknowledgement, PUBREL phase, session wipe,
// restart), it is unknown until countQueued() ran, and a budget bounds the
// sum of the queues that share it the way a per-client cap bounds one queue.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { LevelPersistence } from '../../src/persistence/level-persistence.ts'
import { storeFixture } from './store-fixture.ts'
import { createLogger } from '../../src/observability/logger.ts'
import type { QueueShare } from '../../src/persistence/queue-bounds.ts'

const { fresh, open, list, pub, remove } = storeFixture('edgemq-qt-')
test.after(remove)
async function enqueue (p: LevelPersistence, count: number, clients: string[], qos = 1): Promise<void> {
  for (let i = 0; i < count; i++) await p.outgoingEnqueueCombi(clients.map((clientId) => ({ clientId })), pub(`m${i}`.padEnd(50, '.'), qos))
}
/** Messages holding a payload in the store for these clients (what the total counts), read from disk. */
async function onDisk (p: LevelPersistence, clients: string[]): Promise<number> {
  let count = 0
  for (const id of clients) count += (await list(p.outgoingStream({ id }))).filter((m) => m.cmd === 'publish').length
  return count
}
const share = (name: string, maxMessages = 0, maxBytes = 0): QueueShare => ({ name, messages: 0, bytes: 0, maxMessages, maxBytes })

test('the total is unknown until countQueued(), then exact through enqueue, drop, acknowledgement, PUBREL phase and wipe', async () => {
  const p = await open(fresh(), { maxQueuedMessages: 6 })
  assert.is(p.stats().queuedMessages, undefined, 'unknown before the count')
  await p.countQueued()
  assert.is(p.stats().queuedMessages, 0)
  await enqueue(p, 4, ['c1', 'c2'])
  assert.is(p.stats().queuedMessages, 8)
  await enqueue(p, 5, ['c1']) // c1 holds 9 > 6: three dropped
  assert.is(p.stats().queuedMessages, 6 + 4)
  assert.is(await onDisk(p, ['c1', 'c2']), 10)
  // c2 gets two packet ids (QoS 1 and QoS 2), one acknowledged, one moved to its PUBREL phase
  const [a, b] = (await list(p.outgoingStream({ id: 'c2' }))).slice(0, 2)
  await p.outgoingUpdate({ id: 'c2' }, { ...a, messageId: 1 })
  await p.outgoingUpdate({ id: 'c2' }, { ...b, qos: 2, messageId: 2 })
  assert.is(p.stats().queuedMessages, 10, 'sent and awaiting its acknowledgement: still queued')
  await p.outgoingClearMessageId({ id: 'c2' }, { cmd: 'puback', messageId: 1 })
  await p.outgoingUpdate({ id: 'c2' }, { cmd: 'pubrel', messageId: 2 })
  assert.is(p.stats().queuedMessages, 8)
  assert.is(await onDisk(p, ['c1', 'c2']), 8)
  // a wiped session (cleanSubscriptions, then aedes clears what is left, as _wipeSession does)
  await p.cleanSubscriptions({ id: 'c1' })
  for (const m of await list(p.outgoingStream({ id: 'c1' }))) await p.outgoingClearMessageId({ id: 'c1' }, m)
  assert.is(p.stats().queuedMessages, 2)
  assert.is(await onDisk(p, ['c1', 'c2']), 2)
  const bytes = p.stats().queuedBytes
  assert.ok(bytes !== undefined && bytes > 100 && bytes < 400, `bytes of two 50-byte messages with headers: ${String(bytes)}`)
  await p.close()
})

test('the first enqueue for a client that holds no queue is not a gated write (no scan); one that holds a queue after a restart is, and the figures are exact', async () => {
  const path = fresh()
  const p = await open(path, { maxQueuedMessages: 3 })
  const queue = (p as unknown as { queue: { gated: boolean } }).queue
  const first = p.outgoingEnqueueCombi([{ clientId: 'new1' }, { clientId: 'new2' }], pub('a'.padEnd(50, '.')))
  assert.is(queue.gated, false, 'nothing on disk to scan: no gate (before: one gated write per new client)')
  await first
  await enqueue(p, 4, ['new1']) // cap 3: the figures that started empty drop the oldest
  assert.is(await onDisk(p, ['new1', 'new2']), 3 + 1)
  await p.close()
  const p2 = await open(path, { maxQueuedMessages: 3 })
  const queue2 = (p2 as unknown as { queue: { gated: boolean } }).queue
  const again = p2.outgoingEnqueueCombi([{ clientId: 'new1' }], pub('b'.padEnd(50, '.')))
  assert.is(queue2.gated, true, 'a holder after a restart is scanned before its first enqueue')
  await again
  assert.is(await onDisk(p2, ['new1']), 3, 'the scan found 3, so the oldest was dropped for the new one')
  await p2.countQueued()
  assert.is(p2.stats().queuedMessages, 3 + 1)
  await p2.close()
})

test('after a restart countQueued() finds what is on disk; enqueues running meanwhile are counted once', async () => {
  const path = fresh()
  const p = await open(path)
  await enqueue(p, 30, ['c1', 'c2', 'c3'])
  await p.countQueued()
  const before = { m: p.stats().queuedMessages, b: p.stats().queuedBytes }
  assert.is(before.m, 90)
  await p.close()
  const p2 = await open(path)
  assert.is(p2.stats().queuedMessages, undefined)
  // a burst of enqueues for one already-queued client and one new one, racing the count
  const racing = Promise.all(Array.from({ length: 20 }, async (_, i) => await p2.outgoingEnqueueCombi([{ clientId: i % 2 === 0 ? 'c2' : 'c9' }], pub(`r${i}`.padEnd(50, '.')))))
  await Promise.all([p2.countQueued(), racing])
  assert.is(p2.stats().queuedMessages, 110)
  assert.is(await onDisk(p2, ['c1', 'c2', 'c3', 'c9']), 110)
  await p2.close()
})

test('a budget shared by three client ids bounds their sum: drop-oldest drops from the queue that grows; others are untouched', async () => {
  const p = await open(fresh())
  const alice = share('user alice', 5)
  const bob = share('user bob', 5)
  p.setQueueShares((id) => id.startsWith('a') ? [alice] : id.startsWith('b') ? [bob] : [])
  await enqueue(p, 2, ['a1'])
  await enqueue(p, 2, ['a2'])
  await enqueue(p, 4, ['a3']) // 2 + 2 + 4 = 8 > 5: a3's own oldest make room
  assert.is(alice.messages, 5)
  assert.is(await onDisk(p, ['a1', 'a2', 'a3']), 5)
  assert.is(await onDisk(p, ['a1']), 2, 'the other client ids keep theirs')
  assert.is(p.stats().queueDroppedByQuota, 3)
  await enqueue(p, 3, ['b1'])
  assert.is(bob.messages, 3, 'another user is not affected')
  // a4 has nothing to drop: its new message is the one refused
  await enqueue(p, 1, ['a4'])
  assert.is(await onDisk(p, ['a4']), 0)
  assert.is(alice.messages, 5)
  // acknowledging frees the budget
  const [m] = await list(p.outgoingStream({ id: 'a1' }))
  await p.outgoingClearMessageId({ id: 'a1' }, m)
  assert.is(alice.messages, 4)
  await enqueue(p, 1, ['a4'])
  assert.is(await onDisk(p, ['a4']), 1)
  await p.close()
})

test('refuse-new: a full budget makes queueFull() true (the v5 publisher hears 0x97) and keeps what is queued', async () => {
  const p = await open(fresh(), { refuseNewWhenFull: true })
  const alice = share('user alice', 3)
  p.setQueueShares((id) => id.startsWith('a') ? [alice] : [])
  await p.addSubscriptions({ id: 'a1' }, [{ topic: 't', qos: 1 }])
  await enqueue(p, 2, ['a1'])
  await enqueue(p, 1, ['a2'])
  assert.ok(p.queueFull('t', 60))
  await enqueue(p, 1, ['a1'])
  assert.is(await onDisk(p, ['a1', 'a2']), 3, 'the queued ones are kept, the new one refused')
  assert.is(p.stats().queueDroppedByQuota, 1)
  await p.close()
})

test('the store-wide cap (persistence.maxQueuedMessagesTotal) bounds all queues together: the receiving client\'s oldest make room, counted and logged once', async () => {
  const lines: string[] = []
  const p = await open(fresh(), { maxQueuedMessagesTotal: 6, logger: createLogger({ level: 'warn', sink: (l) => lines.push(l) }) })
  await enqueue(p, 4, ['c1'])
  await enqueue(p, 4, ['c2']) // 8 > 6: c2's own two oldest make room, c1 keeps its four
  assert.is(await onDisk(p, ['c1']), 4)
  assert.is(await onDisk(p, ['c2']), 2)
  assert.equal((await list(p.outgoingStream({ id: 'c2' }))).map((m) => String(m.payload).slice(0, 2)), ['m2', 'm3'], 'the newest are kept')
  assert.is(p.stats().queueDropped, 2)
  assert.is(p.stats().queueDroppedByQuota, 0, 'not a user\'s or group\'s budget')
  assert.is(lines.filter((l) => l.includes('store-wide') && l.includes('client=c2')).length, 1, `one log line for the burst: ${lines.join(' | ')}`)
  // a client with nothing queued cannot make room: its new message is the one dropped
  await enqueue(p, 1, ['c3'])
  assert.is(await onDisk(p, ['c3']), 0)
  assert.is(p.stats().queueDropped, 3)
  // a reload lifts the cap (0 = none)
  p.setQueueLimits({ maxMessages: 0, maxBytes: 0, maxTotalMessages: 0 })
  await enqueue(p, 1, ['c3'])
  assert.is(await onDisk(p, ['c3']), 1)
  await p.close()
})

test('refuse-new: a store-wide cap reached makes queueFull() true and keeps what is queued', async () => {
  const p = await open(fresh(), { refuseNewWhenFull: true, maxQueuedMessagesTotal: 3 })
  await p.addSubscriptions({ id: 'c1' }, [{ topic: 't', qos: 1 }])
  await enqueue(p, 3, ['c1', 'c2'].slice(0, 1))
  assert.ok(p.queueFull('t', 60))
  await enqueue(p, 1, ['c1'])
  assert.is(await onDisk(p, ['c1']), 3)
  await p.close()
})

test('reshare moves a queue\'s figures to its new budgets (a reload changed its user\'s groups)', async () => {
  const p = await open(fresh())
  const ops = share('group ops', 100)
  const lab = share('group lab', 100)
  let groupOf = ops
  p.setQueueShares(() => [groupOf])
  await enqueue(p, 4, ['c1'])
  assert.is(ops.messages, 4)
  groupOf = lab
  p.reshareQueues()
  assert.equal([ops.messages, ops.bytes, lab.messages], [0, 0, 4])
  assert.ok(lab.bytes > 0)
  await p.close()
})

test.run()
