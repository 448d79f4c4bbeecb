// The FIFO that replaces mqemitter's Array queue: order kept across growth,
// wrap-around and shrinking; shift on empty gives undefined, like an Array.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { FifoQueue } from '../../src/core/fifo-queue.ts'

test('gives items back in the order they were pushed, through growth and shrinking', () => {
  const q = new FifoQueue<number>()
  const model: number[] = []
  let next = 0
  // interleave bursts of pushes and shifts so the ring wraps, grows and shrinks
  for (const [pushes, shifts] of [[10, 3], [100, 50], [5000, 4990], [3, 60], [20_000, 19_000], [0, 2_000]]) {
    for (let i = 0; i < pushes; i++) { assert.is(q.push(next), model.push(next)); next++ }
    for (let i = 0; i < shifts; i++) assert.is(q.shift(), model.shift())
    assert.is(q.length, model.length)
  }
  while (model.length > 0) assert.is(q.shift(), model.shift())
  assert.is(q.length, 0)
})

test('shift on an empty queue returns undefined and changes nothing', () => {
  const q = new FifoQueue<string>()
  assert.is(q.shift(), undefined)
  assert.is(q.length, 0)
  q.push('a')
  assert.is(q.shift(), 'a')
  assert.is(q.shift(), undefined)
})

test('a million push/shift pairs on a queue of 50k stay fast (linear, not quadratic)', () => {
  const q = new FifoQueue<object>()
  for (let i = 0; i < 50_000; i++) q.push({ i })
  // not a timed assertion: this only has to finish; an O(n) shift would take minutes
  for (let i = 0; i < 1_000_000; i++) { q.push({ i }); q.shift() }
  assert.is(q.length, 50_000)
})

test.run()
