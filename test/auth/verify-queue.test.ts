import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { VerifyQueue, VerifyQueueFull } from '../../src/auth/verify-queue.ts'

function gate (): { promise: Promise<void>, open: () => void } {
  let open!: () => void
  const promise = new Promise<void>((resolve) => { open = resolve })
  return { promise, open }
}

test('runs at most maxConcurrent jobs at once; waiters start as slots free', async () => {
  const q = new VerifyQueue({ maxConcurrent: 2, maxQueued: 10, maxPerKey: 10 })
  const gates = [gate(), gate(), gate()]
  let started = 0
  const runs = gates.map((g, i) => q.run(`k${i}`, async () => { started++; await g.promise; return i }))
  await new Promise((resolve) => setImmediate(resolve))
  assert.is(started, 2)
  assert.equal(q.load, { running: 2, waiting: 1 })
  gates[0].open()
  await runs[0]
  await new Promise((resolve) => setImmediate(resolve))
  assert.is(started, 3)
  gates[1].open(); gates[2].open()
  assert.equal(await Promise.all(runs), [0, 1, 2])
  assert.equal(q.load, { running: 0, waiting: 0 })
})

test('one key (source IP) cannot hold more than maxPerKey places; others still get in', async () => {
  const q = new VerifyQueue({ maxConcurrent: 1, maxQueued: 100, maxPerKey: 2 })
  const g = gate()
  const a = [q.run('attacker', async () => await g.promise), q.run('attacker', async () => await g.promise)]
  try { await q.run('attacker', async () => {}); assert.unreachable() } catch (err) {
    assert.ok(err instanceof VerifyQueueFull && err.why === 'per-ip')
  }
  const legit = q.run('legit', async () => 'in')
  g.open()
  await Promise.all(a)
  assert.is(await legit, 'in')
})

test('a full queue refuses at once instead of growing; a failing job frees its slot', async () => {
  const q = new VerifyQueue({ maxConcurrent: 1, maxQueued: 1, maxPerKey: 5 })
  const g = gate()
  const first = q.run('a', async () => { await g.promise; throw new Error('boom') })
  const second = q.run('b', async () => 2)
  try { await q.run('c', async () => 3); assert.unreachable() } catch (err) {
    assert.ok(err instanceof VerifyQueueFull && err.why === 'queue-full')
  }
  g.open()
  try { await first; assert.unreachable() } catch (err) { assert.is((err as Error).message, 'boom') }
  assert.is(await second, 2)
  assert.is(await q.run('c', async () => 3), 3)
})

test.run()
