// Durability modes on a real LevelDB: which batches are synced, when, and in
// what order writes land. The database's batch() is observed, not replaced.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { silentLogger } from '../../src/observability/logger.ts'
import { LAZY_WRITE_MS, WriteQueue, cancelFreshPairs, type SyncMode, type WriteOp } from '../../src/persistence/write-queue.ts'

const dir = mkdtempSync(join(tmpdir(), 'edgemq-wq-'))
let n = 0
test.after(() => rmSync(dir, { recursive: true, force: true }))

async function setup (mode: SyncMode, syncInterval = 60_000) {
  const db = new ClassicLevel<string, string>(join(dir, `db-${++n}`))
  await db.open()
  const calls: Array<{ ops: number, sync: boolean }> = []
  const target = {
    batch: () => {
      const real = db.batch()
      let ops = 0
      return {
        put: (k: any, v: any, o?: any) => { ops++; real.put(k, v, o) },
        del: (k: any, o?: any) => { ops++; real.del(k, o) },
        write: async (options: { sync: boolean }) => { calls.push({ ops, sync: options.sync }); await real.write(options) }
      }
    }
  }
  const queue = new WriteQueue({ db: target, mode, syncInterval, logger: silentLogger, syncMarkerKey: 'M-sync' })
  return { db, queue, calls }
}

test('always: every batch is synced before its writers resume', async () => {
  const { db, queue, calls } = await setup('always')
  await queue.write([{ type: 'put', key: 'a', value: '1' }])
  await queue.write([{ type: 'put', key: 'b', value: '2' }])
  assert.ok(calls.length >= 2)
  assert.ok(calls.every((c) => c.sync), JSON.stringify(calls))
  assert.is(await db.get('b'), '2')
  await queue.close(); await db.close()
})

test('always: concurrent writes are group-committed into few synced batches', async () => {
  const { db, queue, calls } = await setup('always')
  await Promise.all(Array.from({ length: 200 }, (_, i) => queue.write([{ type: 'put', key: `k${i}`, value: String(i) }])))
  assert.ok(calls.length <= 3, `200 concurrent writes took ${calls.length} batches`)
  assert.is(calls.reduce((s, c) => s + c.ops, 0), 200)
  assert.is(queue.counters.syncs, calls.length)
  await queue.close(); await db.close()
})

test('writes land in the order they were queued (last write of a key wins)', async () => {
  const { db, queue } = await setup('batch')
  const writes: Array<Promise<void>> = []
  for (let i = 0; i < 50; i++) {
    writes.push(queue.write([{ type: 'put', key: 'same', value: String(i) }]))
    if (i % 7 === 0) await new Promise((r) => setImmediate(r)) // spread over several batches
  }
  writes.push(queue.write([{ type: 'del', key: 'gone' }, { type: 'put', key: 'same', value: 'last' }]))
  await Promise.all(writes)
  assert.is(await db.get('same'), 'last')
  await queue.close(); await db.close()
})

test('batch: writes are not synced, then one synced write within syncInterval', async () => {
  const { db, queue, calls } = await setup('batch', 100)
  await queue.write([{ type: 'put', key: 'a', value: '1' }])
  assert.equal(calls, [{ ops: 1, sync: false }])
  await new Promise((r) => setTimeout(r, 350))
  const synced = calls.filter((c) => c.sync)
  assert.is(synced.length, 1, `expected exactly one sync after the write: ${JSON.stringify(calls)}`)
  assert.ok(queue.counters.lastSyncAt !== undefined)
  await queue.close(); await db.close()
})

test('batch: an idle store is not synced again', async () => {
  const { db, queue, calls } = await setup('batch', 50)
  await queue.write([{ type: 'put', key: 'a', value: '1' }])
  await new Promise((r) => setTimeout(r, 150))
  const after = calls.length
  await new Promise((r) => setTimeout(r, 200))
  assert.is(calls.length, after, 'no writes, no fsync')
  await queue.close(); await db.close()
})

test('never: nothing is ever synced, not even at close', async () => {
  const { db, queue, calls } = await setup('never', 10)
  await queue.write([{ type: 'put', key: 'a', value: '1' }])
  await new Promise((r) => setTimeout(r, 60))
  await queue.close()
  assert.ok(calls.every((c) => !c.sync), JSON.stringify(calls))
  await db.close()
})

test('close waits for queued writes, syncs once, then refuses new writes', async () => {
  const { db, queue, calls } = await setup('batch')
  const pending = queue.write([{ type: 'put', key: 'late', value: 'x' }])
  await queue.close()
  await pending
  assert.is(await db.get('late'), 'x')
  assert.ok(calls[calls.length - 1].sync, 'the last batch before close is synced')
  try { await queue.write([{ type: 'put', key: 'after', value: 'y' }]); assert.unreachable('write after close') } catch (err) { assert.match((err as Error).message, /closed/) }
  await db.close()
})

test('barrier resolves after every earlier write landed, at once when idle', async () => {
  const { db, queue } = await setup('batch')
  await queue.barrier()
  void queue.write([{ type: 'put', key: 'x', value: '1' }])
  void queue.write([{ type: 'put', key: 'y', value: '2' }])
  await queue.barrier()
  assert.is(await db.get('x'), '1')
  assert.is(await db.get('y'), '2')
  await queue.close(); await db.close()
})

test('a gated write holds its place: its read runs after earlier writes landed, later writes land after it, settled() waits for it', async () => {
  const { db, queue } = await setup('batch')
  const order: string[] = []
  void queue.write([{ type: 'put', key: 'k', value: 'before' }])
  let seenAtPrepare: string | undefined
  let release!: () => void
  const gated = queue.writeAfter(async () => {
    seenAtPrepare = await db.get('k')
    await new Promise<void>((resolve) => { release = resolve })
  }, () => { order.push('build'); return [{ type: 'put', key: 'k', value: 'gated' }] })
  const after = queue.write([{ type: 'put', key: 'k', value: 'after' }]).then(() => { order.push('after landed') })
  assert.ok(queue.gated)
  const settled = queue.settled().then(() => { order.push('settled') })
  await new Promise((resolve) => setTimeout(resolve, 30))
  assert.is(seenAtPrepare, 'before', 'the read ran before the earlier write landed')
  assert.equal(order, [], 'a write queued after the gate landed before it')
  release()
  await Promise.all([gated, after, settled])
  assert.equal(order, ['build', 'after landed', 'settled'])
  assert.is(await db.get('k'), 'after')
  assert.not.ok(queue.gated)
  await queue.close(); await db.close()
})

test('a gated write whose read fails is rejected alone; the writes after it still land', async () => {
  const { db, queue } = await setup('batch')
  const gated = queue.writeAfter(async () => { throw new Error('scan failed') }, () => [{ type: 'put', key: 'g', value: '1' }])
  const after = queue.write([{ type: 'put', key: 'a', value: '1' }])
  const [g, a] = await Promise.allSettled([gated, after])
  assert.is(g.status, 'rejected')
  assert.is(a.status, 'fulfilled')
  assert.is(await db.get('g'), undefined)
  assert.is(await db.get('a'), '1')
  await queue.close(); await db.close()
})

test('close() waits for a gated write still reading', async () => {
  const { db, queue } = await setup('batch')
  const gated = queue.writeAfter(async () => { await new Promise((resolve) => setTimeout(resolve, 50)) }, () => [{ type: 'put', key: 'late-gate', value: 'x' }])
  await queue.close()
  await gated
  assert.is(await db.get('late-gate'), 'x')
  await db.close()
})

test('writeFirst joins the next batch, ahead of the writes that depend on it', async () => {
  const { db, queue, calls } = await setup('batch')
  queue.writeFirst({ type: 'put', key: 'reserve', value: '1000' })
  await queue.write([{ type: 'put', key: 'uses-reserve', value: '1' }])
  assert.is(calls.length, 1)
  assert.is(calls[0].ops, 2)
  assert.is(await db.get('reserve'), '1000')
  await queue.close(); await db.close()
})

test('a failed batch rejects every writer in it', async () => {
  const { db, queue } = await setup('batch')
  await db.close() // LevelDB refuses the batch
  const results = await Promise.allSettled([queue.write([{ type: 'put', key: 'a', value: '1' }]), queue.write([{ type: 'put', key: 'b', value: '2' }])])
  assert.ok(results.every((r) => r.status === 'rejected'))
})

test('cancelFreshPairs: a fresh put and a later del of its key leave the batch together, with puts between them; nothing else does', () => {
  const k = (s: string): Buffer => Buffer.from(s)
  const ops: WriteOp[] = [
    { type: 'put', key: k('Oa1'), value: 'v', fresh: true },
    { type: 'del', key: k('J1') },
    { type: 'put', key: k('Oa1'), value: 'rewritten' }, // a rewrite between put and del goes too
    { type: 'put', key: k('Ob1'), value: 'v', fresh: true }, // never deleted in this batch: stays
    { type: 'del', key: k('Oa1') },
    { type: 'del', key: k('Oc1') }, // no fresh put of it in this batch (written before): stays
    { type: 'put', key: k('Oa1'), value: 'restored' } // after the del: stays (a restore)
  ]
  const out = cancelFreshPairs(ops)
  assert.equal(out.map((o) => `${o.type} ${String(o.key)} ${String(o.value ?? '')}`), ['del J1 ', 'put Ob1 v', 'del Oc1 ', 'put Oa1 restored'])
  // a put that is not fresh is never cancelled (the key may exist on disk: the del must land)
  const plain: WriteOp[] = [{ type: 'put', key: k('Ox'), value: 'v' }, { type: 'del', key: k('Ox') }]
  assert.is(cancelFreshPairs(plain), plain)
})

test('a lazy write waits for company (at most LAZY_WRITE_MS); an acknowledgement arriving meanwhile cancels its fresh put on disk too', async () => {
  const db = new ClassicLevel<Buffer, Buffer>(join(dir, `db-${++n}`), { keyEncoding: 'buffer', valueEncoding: 'buffer' })
  await db.open()
  const batches: number[] = []
  const target = { batch: () => { const real = db.batch(); let ops = 0; return { put: (a: any, b: any) => { ops++; real.put(a, b) }, del: (a: any) => { ops++; real.del(a) }, write: async (o: { sync: boolean }) => { batches.push(ops); await real.write(o) } } } }
  const queue = new WriteQueue({ db: target, mode: 'batch', syncInterval: 60_000, logger: silentLogger, syncMarkerKey: Buffer.from('M-sync') })
  const key = Buffer.from('O-client-1')
  await queue.write([{ type: 'put', key: Buffer.from('J-1'), value: Buffer.from('journal') }])
  const lazy = queue.write([{ type: 'put', key, value: Buffer.from('queued'), fresh: true }, { type: 'del', key: Buffer.from('J-1') }], { lazy: true })
  await new Promise((r) => setTimeout(r, 2))
  assert.is(batches.length, 1, 'the lazy write has not gone out on its own at once')
  await queue.write([{ type: 'del', key }]) // the subscriber's PUBACK: urgent, flushes the lazy write with it
  await lazy
  assert.equal(batches, [1, 1], 'the queued copy and its delete were left out; the journal delete landed')
  assert.is(queue.counters.cancelled, 2)
  assert.is(await db.get(Buffer.from('J-1')), undefined)
  assert.is(await db.get(key), undefined)
  // alone, a lazy write still lands, within LAZY_WRITE_MS and a margin
  const t0 = performance.now()
  await queue.write([{ type: 'put', key: Buffer.from('O-client-2'), value: Buffer.from('q'), fresh: true }], { lazy: true })
  assert.ok(performance.now() - t0 >= LAZY_WRITE_MS - 2, 'it waited for company')
  assert.equal(await db.get(Buffer.from('O-client-2')), Buffer.from('q'))
  // settled() does not wait out the delay
  const pending = queue.write([{ type: 'put', key: Buffer.from('O-client-3'), value: Buffer.from('q'), fresh: true }], { lazy: true })
  await queue.settled()
  await pending
  assert.equal(await db.get(Buffer.from('O-client-3')), Buffer.from('q'))
  await queue.close(); await db.close()
})

test('a lazy write queued in the same turn as an urgent one does not leave with it: it still waits for company (a journal write and its routed copy, round 5)', async () => {
  const db = new ClassicLevel<Buffer, Buffer>(join(dir, `db-${++n}`), { keyEncoding: 'buffer', valueEncoding: 'buffer' })
  await db.open()
  const batches: string[] = []
  const target = { batch: () => { const real = db.batch(); const ops: string[] = []; return { put: (a: any, b: any) => { ops.push(`put ${String(a)}`); real.put(a, b) }, del: (a: any) => { ops.push(`del ${String(a)}`); real.del(a) }, write: async (o: { sync: boolean }) => { batches.push(ops.join(', ')); await real.write(o) } } } }
  const queue = new WriteQueue({ db: target, mode: 'batch', syncInterval: 60_000, logger: silentLogger, syncMarkerKey: Buffer.from('M-sync') })
  const key = Buffer.from('O-client-1')
  // the engine queues the journal entry and, routing in the same turn, the queued copy with the entry's delete
  const journaled = queue.write([{ type: 'put', key: Buffer.from('J-1'), value: Buffer.from('journal'), fresh: true }])
  const lazy = queue.write([{ type: 'put', key, value: Buffer.from('queued'), fresh: true }, { type: 'del', key: Buffer.from('J-1') }], { lazy: true })
  await journaled
  assert.equal(batches, ['put J-1'], 'the journal entry went alone (the PUBACK waits for it only)')
  await queue.write([{ type: 'del', key }]) // the subscriber's PUBACK
  await lazy
  assert.equal(batches, ['put J-1', 'del J-1'], 'the queued copy and its delete were left out; the journal delete landed')
  assert.is(await db.get(Buffer.from('J-1')), undefined)
  assert.is(await db.get(key), undefined)
  // an urgent write queued after a waiting lazy one takes it along (order kept)
  const lazy2 = queue.write([{ type: 'put', key: Buffer.from('O-client-2'), value: Buffer.from('q'), fresh: true }], { lazy: true })
  await queue.write([{ type: 'put', key: Buffer.from('X'), value: Buffer.from('x') }])
  await lazy2
  assert.equal(batches.slice(2), ['put O-client-2, put X'])
  await queue.close(); await db.close()
})

test.run()
