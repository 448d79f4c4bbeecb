// ReadGuard.batches: the stream a queue replay is read through (issue 11's
// drain: one promise per LevelDB batch instead of one per message and per
// async generator). What aedes relies on: every item in order, an item
// refused by `take` (acknowledged meanwhile) never handed over, the read
// closed exactly once however the stream ends, and a store that closes
// mid-read ending the stream quietly (an 'error' nobody listens to crashed
// the broker at shutdown before).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { Readable } from 'node:stream'
import { ReadGuard, type BatchSource } from '../../src/persistence/read-guard.ts'

interface Probe { source: BatchSource<number>, closes: boolean[], opened: () => number }

function numbers (batches: number[][], options: { skip?: (n: number) => boolean, failAt?: number } = {}): Probe {
  const closes: boolean[] = []
  let opened = 0
  let i = 0
  const source: BatchSource<number> = {
    open: async () => { opened++ },
    next: async () => {
      await new Promise((resolve) => setImmediate(resolve))
      if (options.failAt === i) throw new Error('read failed')
      return i < batches.length ? batches[i++] : undefined
    },
    take: (n) => options.skip?.(n) !== true,
    close: async (complete) => { closes.push(complete) }
  }
  return { source, closes, opened: () => opened }
}

async function list (s: Readable): Promise<number[]> {
  const out: number[] = []
  for await (const x of s) out.push(x as number)
  return out
}

test('hands over every item in order across batches (empty batches included) and closes once, complete', async () => {
  const probe = numbers([[1, 2, 3], [], [4], [5, 6]])
  assert.equal(await list(new ReadGuard().batches(probe.source)), [1, 2, 3, 4, 5, 6])
  assert.equal(probe.opened(), 1)
  assert.equal(probe.closes, [true])
})

test('an item refused by take() right before it is handed over is skipped', async () => {
  const probe = numbers([[1, 2, 3, 4]], { skip: (n) => n % 2 === 0 })
  assert.equal(await list(new ReadGuard().batches(probe.source)), [1, 3])
  assert.equal(probe.closes, [true])
})

test('a stream destroyed mid-read closes its source once, not complete', async () => {
  const probe = numbers([[1, 2], [3, 4], [5, 6]])
  const stream = new ReadGuard().batches(probe.source)
  const got: number[] = []
  for await (const x of stream) {
    got.push(x as number)
    if (got.length === 3) break // for-await's return() destroys the stream
  }
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(got, [1, 2, 3])
  assert.equal(probe.closes, [false])
})

test('a store that closes mid-read ends the stream quietly, with what was handed over', async () => {
  const guard = new ReadGuard()
  const probe = numbers([[1, 2], [3, 4], [5, 6]])
  const stream = guard.batches(probe.source)
  const got: number[] = []
  for await (const x of stream) {
    got.push(x as number)
    if (got.length === 2) guard.close()
  }
  assert.ok(got.length >= 2 && got.length < 6, `ended early, quietly: ${got.join(',')}`)
  assert.equal(probe.closes, [false])
})

test('a read that fails while the store is open fails the stream', async () => {
  const probe = numbers([[1], [2]], { failAt: 1 })
  const stream = new ReadGuard().batches(probe.source)
  await list(stream).then(() => assert.unreachable('should have failed'), (err: Error) => { assert.is(err.message, 'read failed') })
  assert.equal(probe.closes, [false])
})

// ReadGuard.drive: the same reads handed to a function (the engine's direct queue replay).

test('drive: every item in order, take() asked right before each, waits for what each returns, closes once, complete', async () => {
  const probe = numbers([[1, 2, 3], [], [4, 5, 6]], { skip: (n) => n === 5 })
  const seen: number[] = []
  let waiting = 0
  const complete = await new ReadGuard().drive(probe.source, (n) => {
    assert.is(waiting, 0, 'the previous item is done before the next is handed over')
    seen.push(n)
    if (n % 2 === 1) return undefined
    waiting++
    return new Promise<void>((resolve) => setTimeout(() => { waiting--; resolve() }, 5))
  })
  assert.is(complete, true)
  assert.equal(seen, [1, 2, 3, 4, 6])
  assert.equal(probe.closes, [true])
})

test('drive: a store that closes mid-read ends it quietly (false), closed once, not complete', async () => {
  const guard = new ReadGuard()
  const probe = numbers([[1, 2], [3, 4], [5]])
  const seen: number[] = []
  const complete = await guard.drive(probe.source, (n) => { seen.push(n); if (n === 3) guard.close(); return undefined })
  assert.is(complete, false)
  assert.equal(seen, [1, 2, 3])
  assert.equal(probe.closes, [false])
})

test('drive: a failed read or a throw of the function rejects, after the read is closed (not complete)', async () => {
  const failing = numbers([[1], [2]], { failAt: 1 })
  await new ReadGuard().drive(failing.source, () => undefined).then(() => assert.unreachable('a failed read rejects'), (err: Error) => { assert.is(err.message, 'read failed') })
  assert.equal(failing.closes, [false])
  const throwing = numbers([[1, 2, 3]])
  await new ReadGuard().drive(throwing.source, (n) => { if (n === 2) throw new Error('write failed'); return undefined }).then(() => assert.unreachable('a throw rejects'), (err: Error) => { assert.is(err.message, 'write failed') })
  assert.equal(throwing.closes, [false])
})

test.run()
