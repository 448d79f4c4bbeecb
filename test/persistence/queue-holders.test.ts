// A CONNECT of a client with nothing queued reads nothing (issue 16): the
// store knows at setup which clients hold queue keys, so aedes's queue drain
// of every clean-session device opens no LevelDB iterator. Clients that do
// hold a queue (found at setup by seeking client to client, or queued to
// since) still get every message, in order.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { createLevelPersistence, type LevelPersistence } from '../../src/persistence/level-persistence.ts'

const dir = mkdtempSync(join(tmpdir(), 'edgemq-holders-'))
test.after(() => rmSync(dir, { recursive: true, force: true }))
const open = (path: string): LevelPersistence => createLevelPersistence({ path, sync: 'batch', syncInterval: 1000, cacheSize: 1 << 20, writeBufferSize: 1 << 20 })
async function list (s: Readable): Promise<any[]> { const out: any[] = []; for await (const x of s) out.push(x); return out }
const pub = (topic: string, payload: string, counter: number): Record<string, unknown> =>
  ({ cmd: 'publish', topic, payload: Buffer.from(payload), qos: 1, retain: false, dup: false, brokerId: 'b1', brokerCounter: counter })

/** Counts LevelDB iterators opened on the store's root database. */
function countIterators (p: LevelPersistence): () => number {
  const db = (p as unknown as { db: { iterator: (...a: unknown[]) => unknown } }).db
  let n = 0
  const original = db.iterator.bind(db)
  db.iterator = (...a: unknown[]) => { n++; return original(...a) }
  return () => n
}

test('after a restart: clients with queued messages drain them all; a client with none opens no iterator', async () => {
  const path = join(dir, 'db1')
  const p = open(path)
  await p.setup({ id: 'b1' })
  for (let i = 1; i <= 3; i++) await p.outgoingEnqueueCombi([{ clientId: 'a' }, { clientId: 'c' }], pub('t', `m${i}`, i))
  await p.outgoingEnqueueCombi([{ clientId: 'b' }], pub('t', 'only-b', 4))
  await p.outgoingUpdate({ id: 'c' }, { ...pub('t', 'm1', 1), qos: 2, messageId: 9 }) // a delivery state (OUT_STATE key) too
  await p.close()

  const p2 = open(path)
  await p2.setup({ id: 'b2' })
  const iterators = countIterators(p2)
  assert.equal((await list(p2.outgoingStream({ id: 'a' }))).map((m) => String(m.payload)), ['m1', 'm2', 'm3'])
  assert.equal((await list(p2.outgoingStream({ id: 'b' }))).map((m) => String(m.payload)), ['only-b'])
  assert.is((await list(p2.outgoingStream({ id: 'c' }))).length, 3)
  const before = iterators()
  assert.ok(before >= 3, `queued clients read their queues (${before} iterators)`)
  for (let i = 0; i < 100; i++) assert.equal(await list(p2.outgoingStream({ id: `clean-${i}` })), [])
  assert.is(iterators(), before, 'no iterator for 100 clients without a queue')
  // a client queued to after setup is read again
  await p2.outgoingEnqueueCombi([{ clientId: 'clean-7' }], pub('t', 'late', 5))
  assert.equal((await list(p2.outgoingStream({ id: 'clean-7' }))).map((m) => String(m.payload)), ['late'])
  await p2.close()
})

test('a drain reads the delivery-state range only for clients that hold delivery states (one iterator instead of two)', async () => {
  const path = join(dir, 'db2')
  const p = open(path)
  await p.setup({ id: 'b1' })
  for (let i = 1; i <= 3; i++) await p.outgoingEnqueueCombi([{ clientId: 'plain' }, { clientId: 'stateful' }], pub('t', `m${i}`, i))
  await p.outgoingUpdate({ id: 'stateful' }, { ...pub('t', 'm1', 1), qos: 2, messageId: 9 }) // a stored QoS 2 packet id (U key)
  await p.close()

  const p2 = open(path)
  await p2.setup({ id: 'b2' })
  const iterators = countIterators(p2)
  assert.equal((await list(p2.outgoingStream({ id: 'plain' }))).map((m) => String(m.payload)), ['m1', 'm2', 'm3'])
  assert.is(iterators(), 1, 'a client without delivery states: its queue range only')
  const stateful = await list(p2.outgoingStream({ id: 'stateful' }))
  assert.is(iterators(), 3, 'a client with a delivery state: both ranges')
  assert.equal(stateful.map((m) => [String(m.payload), m.messageId]), [['m1', 9], ['m2', undefined], ['m3', undefined]], 'the stored packet id survives the restart')
  // a delivery state written in this process is read by the next drain
  await p2.outgoingEnqueueCombi([{ clientId: 'late' }], { ...pub('t', 'q2', 7), qos: 2 })
  await p2.outgoingUpdate({ id: 'late' }, { ...pub('t', 'q2', 7), qos: 2, messageId: 42 })
  ;(p2 as unknown as { outgoing: { forget: (id: string) => void } }).outgoing.forget('late') // the drain must read the id from disk
  assert.equal((await list(p2.outgoingStream({ id: 'late' }))).map((m) => [String(m.payload), m.messageId]), [['q2', 42]])
  await p2.close()
  const p3 = open(path)
  await p3.setup({ id: 'b3' })
  assert.equal((await list(p3.outgoingStream({ id: 'late' }))).map((m) => [String(m.payload), m.messageId]), [['q2', 42]])
  await p3.close()
})

test.run()
