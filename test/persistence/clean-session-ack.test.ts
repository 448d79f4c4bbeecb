// A PUBACK/PUBCOMP of a clean-session client is answered from the in-memory
// index, with no range scan of the store (the scan cost two LevelDB iterators
// per acknowledgement, ~60 % of the broker's CPU in fan-in QoS 1); what an
// earlier persistent session left is still cleared, and persistent sessions
// keep the scan fallback. And a QoS 1 message only clean sessions receive is
// not journaled (it has nowhere to go after a crash).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLevelPersistence, type LevelPersistence } from '../../src/persistence/level-persistence.ts'

const dir = mkdtempSync(join(tmpdir(), 'edgemq-clean-ack-'))
let n = 0
test.after(() => rmSync(dir, { recursive: true, force: true }))

function open (path: string): LevelPersistence {
  return createLevelPersistence({ path, sync: 'batch', syncInterval: 1000, cacheSize: 1 << 20, writeBufferSize: 1 << 20 })
}
const pub = (topic: string, payload: string, counter: number, qos = 1): Record<string, unknown> =>
  ({ cmd: 'publish', topic, payload: Buffer.from(payload), qos, retain: false, dup: false, brokerId: 'b1', brokerCounter: counter })

/** Counts the LevelDB iterators the store opens (a range scan opens two). */
function countIterators (p: LevelPersistence): () => number {
  const db = (p as unknown as { db: { iterator: (...args: unknown[]) => unknown } }).db
  const original = db.iterator.bind(db)
  let count = 0
  db.iterator = (...args: unknown[]) => { count++; return original(...args) }
  return () => count
}

test('a clean client\'s acknowledgement of a live delivery opens no iterator and finds nothing stored', async () => {
  const p = open(join(dir, `db-${++n}`))
  await p.setup({ id: 'b1' })
  const iterators = countIterators(p)
  for (let id = 1; id <= 100; id++) {
    assert.is(await p.outgoingClearMessageId({ id: 'live', clean: true } as { id: string }, { cmd: 'puback', messageId: id }), undefined)
  }
  assert.is(iterators(), 0)
  // a persistent session's miss still scans its range
  assert.is(await p.outgoingClearMessageId({ id: 'kept', clean: false } as { id: string }, { cmd: 'puback', messageId: 1 }), undefined)
  assert.ok(iterators() > 0)
  await p.close()
})

test('a clean client reconnecting over a queue its earlier session left clears every message it is streamed', async () => {
  const path = join(dir, `db-${++n}`)
  const p = open(path)
  await p.setup({ id: 'b1' })
  for (let i = 1; i <= 20; i++) await p.outgoingEnqueueCombi([{ clientId: 'c1' }], pub('t', `m${i}`, i, i % 2 === 0 ? 2 : 1))
  await p.close()

  const p2 = open(path)
  await p2.setup({ id: 'b2' })
  const client = { id: 'c1', clean: true } as { id: string }
  let id = 0
  const cleared: string[] = []
  for await (const m of p2.outgoingStream(client)) {
    const withId = { ...m, messageId: ++id }
    await p2.outgoingUpdate(client, withId)
    const gone = await p2.outgoingClearMessageId(client, { messageId: id })
    cleared.push(String(gone?.payload))
  }
  assert.equal(cleared, Array.from({ length: 20 }, (_, i) => `m${i + 1}`))
  const left: unknown[] = []
  for await (const m of p2.outgoingStream({ id: 'c1' })) left.push(m)
  assert.is(left.length, 0)
  await p2.close()
})

test('a persistent session still finds a stored QoS 2 packet id after a restart (scan fallback)', async () => {
  const path = join(dir, `db-${++n}`)
  const p = open(path)
  await p.setup({ id: 'b1' })
  await p.outgoingEnqueueCombi([{ clientId: 'c2' }], pub('t', 'q2', 1, 2))
  for await (const m of p.outgoingStream({ id: 'c2' })) await p.outgoingUpdate({ id: 'c2' }, { ...m, messageId: 42 })
  await p.close()

  const p2 = open(path)
  await p2.setup({ id: 'b2' })
  const gone = await p2.outgoingClearMessageId({ id: 'c2', clean: false } as { id: string }, { cmd: 'pubcomp', messageId: 42 })
  assert.is(String(gone?.payload), 'q2')
  await p2.close()
})

test('a QoS 1 message needs the journal only when retained or a persistent session subscribes to its topic; QoS 2 always', async () => {
  const p = open(join(dir, `db-${++n}`))
  await p.setup({ id: 'b1' })
  assert.not.ok(p.needsJournal('plant/1/temp', 1, false), 'only clean sessions (or nobody) receive it')
  assert.ok(p.needsJournal('plant/1/temp', 1, true), 'retained')
  assert.ok(p.needsJournal('plant/1/temp', 2, false), 'QoS 2 (exactly once needs the stored record)')
  await p.addSubscriptions({ id: 'logger' }, [{ topic: 'plant/+/temp', qos: 0 }])
  assert.not.ok(p.needsJournal('plant/1/temp', 1, false), 'a QoS 0 persistent subscription gets no offline queue')
  await p.addSubscriptions({ id: 'logger' }, [{ topic: 'plant/#', qos: 1 }])
  assert.ok(p.needsJournal('plant/1/temp', 1, false), 'a persistent QoS 1 subscriber')
  await p.removeSubscriptions({ id: 'logger' }, ['plant/#'])
  assert.not.ok(p.needsJournal('plant/1/temp', 1, false))
  await p.close()
})

test.run()
