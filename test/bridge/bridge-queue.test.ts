import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { BridgeQueue, type QueueEntry, type QueueLimits } from '../../src/bridge/bridge-queue.ts'
import { GroupCommitWriter } from '../../src/bridge/bridge-store.ts'
import { silentLogger } from '../../src/observability/logger.ts'
import { openTempStore, type TempStore } from './bridge-fixtures.ts'

const LIMITS: QueueLimits = { maxBytes: 64 * 1024 * 1024, maxMessages: 1_000_000, whenFull: 'drop-oldest' }
const msg = (i: number, size = 8) => ({ topic: `up/${i}`, payload: Buffer.from(String(i).padStart(size, '0')), qos: 1 as const, retain: false, enqueuedAt: 1000 + i })

async function open (t: TempStore, limits = LIMITS, name = 'cloud'): Promise<{ q: BridgeQueue, w: GroupCommitWriter }> {
  const w = new GroupCommitWriter(t.store, { sync: 'never', syncInterval: 1000 })
  return { q: await BridgeQueue.open(name, t.store, w, limits, silentLogger), w }
}

/** Takes every sendable entry now. */
function takeAll (q: BridgeQueue): QueueEntry[] {
  const out: QueueEntry[] = []
  for (let e = q.next(); e !== undefined; e = q.next()) out.push(e)
  return out
}

/** Takes, acks, and waits for loads from disk until `n` entries were delivered; returns their topics. */
async function drain (q: BridgeQueue, n: number): Promise<string[]> {
  const topics: string[] = []
  const deadline = Date.now() + 10_000
  while (topics.length < n) {
    const batch = takeAll(q)
    for (const e of batch) { topics.push(e.msg.topic); q.ack(e) }
    if (batch.length === 0) {
      if (Date.now() > deadline) throw new Error(`drained ${topics.length} of ${n}`)
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  }
  return topics
}

test('messages come out in the order they went in, and leave only when acknowledged', async () => {
  const t = await openTempStore()
  try {
    const { q, w } = await open(t)
    for (let i = 0; i < 10; i++) await q.enqueue(msg(i))
    const first = takeAll(q)
    assert.equal(first.map((e) => e.msg.topic), Array.from({ length: 10 }, (_, i) => `up/${i}`))
    assert.is(q.count, 10, 'sent but unacknowledged messages stay queued')
    for (const e of first.slice(0, 4)) q.ack(e)
    assert.is(q.count, 6)
    q.rewind()
    assert.equal(takeAll(q).map((e) => e.msg.topic), ['up/4', 'up/5', 'up/6', 'up/7', 'up/8', 'up/9'], 'a new connection resends the unacknowledged ones, in order')
    await w.flush()
  } finally { await t.dispose() }
})

test('a reopened queue (restart) has every unacknowledged message, in order, with counts and bytes', async () => {
  const t = await openTempStore()
  try {
    const a = await open(t)
    for (let i = 0; i < 3000; i++) await a.q.enqueue(msg(i))
    const sent = takeAll(a.q)
    // acknowledge out of order inside the window, as a QoS 1 upstream may
    for (const i of [0, 1, 2, 5, 7]) a.q.ack(sent[i])
    const bytes = a.q.bytes
    await a.w.flush()
    await t.reopen()
    const b = await open(t)
    assert.is(b.q.count, 2995)
    assert.is(b.q.bytes, bytes)
    assert.is(b.q.oldestEnqueuedAt(), 1003)
    const topics = await drain(b.q, 2995)
    const expected = Array.from({ length: 3000 }, (_, i) => i).filter((i) => ![0, 1, 2, 5, 7].includes(i)).map((i) => `up/${i}`)
    assert.equal(topics, expected)
    assert.is(b.q.count, 0)
    assert.is(b.q.bytes, 0)
    await b.w.flush()
    await t.reopen()
    const c = await open(t)
    assert.is(c.q.count, 0, 'acknowledged messages are gone from disk')
  } finally { await t.dispose() }
})

test('a backlog larger than the memory window is loaded from disk as the window drains', async () => {
  const t = await openTempStore()
  try {
    const { q } = await open(t)
    for (let i = 0; i < 5000; i++) await q.enqueue(msg(i))
    assert.ok(takeAll(q).length <= 1024, 'at most 1024 records in memory')
    q.rewind()
    const topics = await drain(q, 5000)
    assert.equal(topics, Array.from({ length: 5000 }, (_, i) => `up/${i}`))
  } finally { await t.dispose() }
})

test('drop-oldest keeps the newest messages within maxMessages and counts the dropped', async () => {
  const t = await openTempStore()
  try {
    const { q, w } = await open(t, { ...LIMITS, maxMessages: 100 })
    for (let i = 0; i < 250; i++) await q.enqueue(msg(i))
    assert.is(q.count, 100)
    assert.is(q.counters.dropped, 150)
    assert.is(q.oldestEnqueuedAt(), 1150)
    await w.flush()
    await t.reopen()
    const b = await open(t, { ...LIMITS, maxMessages: 100 })
    assert.equal(await drain(b.q, 100), Array.from({ length: 100 }, (_, i) => `up/${150 + i}`), 'the dropped ones are gone from disk too')
  } finally { await t.dispose() }
})

test('maxBytes bounds the bytes on disk; refuse-new keeps the oldest and counts the refused', async () => {
  const t = await openTempStore()
  try {
    const a = await open(t, { maxBytes: 4096, maxMessages: 1_000_000, whenFull: 'drop-oldest' }, 'a')
    for (let i = 0; i < 500; i++) await a.q.enqueue(msg(i, 100))
    assert.ok(a.q.bytes <= 4096, `bytes ${a.q.bytes}`)
    assert.ok(a.q.count > 10)
    const b = await open(t, { maxBytes: 4096, maxMessages: 1_000_000, whenFull: 'refuse-new' }, 'b')
    let accepted = 0
    for (let i = 0; i < 500; i++) if (await b.q.enqueue(msg(i, 100))) accepted++
    assert.is(b.q.count, accepted)
    assert.is(b.q.counters.refused, 500 - accepted)
    assert.equal(takeAll(b.q)[0].msg.topic, 'up/0', 'refuse-new keeps the oldest')
    assert.is(await b.q.enqueue(msg(1, 10_000)), false, 'a message larger than the whole queue is refused')
  } finally { await t.dispose() }
})

test('dropping a message that is in flight does not count it twice when its ack comes', async () => {
  const t = await openTempStore()
  try {
    const { q } = await open(t, { ...LIMITS, maxMessages: 2 })
    await q.enqueue(msg(0))
    await q.enqueue(msg(1))
    const [e0] = takeAll(q)
    await q.enqueue(msg(2)) // drops 0, which is in flight
    q.ack(e0)
    assert.is(q.count, 2)
    assert.is(q.counters.delivered, 0)
  } finally { await t.dispose() }
})

test('a corrupt record is skipped, counted and deleted; the rest still flows', async () => {
  const t = await openTempStore()
  try {
    const a = await open(t)
    for (let i = 0; i < 3; i++) await a.q.enqueue(msg(i))
    await a.w.flush()
    await t.store.batch([{ type: 'put', key: 'cloud!000000000001', value: Buffer.from([9, 9, 9]) }])
    await t.reopen()
    const b = await open(t)
    assert.equal(await drain(b.q, 2), ['up/0', 'up/2'])
    assert.is(b.q.counters.corrupt, 1)
    assert.is(b.q.count, 0)
  } finally { await t.dispose() }
})

test('queues of two bridges share one store without seeing each other', async () => {
  const t = await openTempStore()
  try {
    const a = await open(t, LIMITS, 'a')
    const ab = await open(t, LIMITS, 'a-b')
    await a.q.enqueue(msg(1))
    await ab.q.enqueue(msg(2))
    await a.w.flush()
    await ab.w.flush()
    await t.reopen()
    assert.is((await open(t, LIMITS, 'a')).q.count, 1)
    assert.is((await open(t, LIMITS, 'a-b')).q.count, 1)
  } finally { await t.dispose() }
})

test('writes made in one turn share one LevelDB batch', async () => {
  const t = await openTempStore()
  try {
    const { q, w } = await open(t)
    await Promise.all(Array.from({ length: 200 }, async (_, i) => await q.enqueue(msg(i))))
    assert.ok(w.batches <= 2, `${w.batches} batches for 200 concurrent enqueues`)
  } finally { await t.dispose() }
})

test.run()
