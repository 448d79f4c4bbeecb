// src/persistence/seq-sizes.ts against the Map it replaced: any sequence of
// appends (growing sequences, as enqueues make them), re-sets, restores of an
// older sequence, and removals (in order, out of order, all) leaves the same
// (sequence, value) pairs in sequence order, the same size and the same
// lookups; and the arrays are given back when a queue shrinks or empties.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { SeqSizes } from '../../src/persistence/seq-sizes.ts'

type Op = { kind: 'append', value: number } | { kind: 'set' | 'delete' | 'restore', pick: number, value: number }

const value = fc.integer({ min: -100_000, max: 100_000 }).filter((v) => v !== 0)
const op: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('append' as const), value }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('delete' as const), pick: fc.nat(), value }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('set' as const), pick: fc.nat(), value }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('restore' as const), pick: fc.nat(), value }), weight: 1 }
)

test('behaves as a Map kept in sequence order, for any operations (one array, and chunks of 8 and 16)', () => {
  fc.assert(fc.property(fc.array(op, { maxLength: 400 }), fc.integer({ min: 0, max: 2 ** 40 }), fc.constantFrom(8, 16, 1024), (ops, start, chunk) => {
    const list = new SeqSizes(chunk)
    const model = new Map<number, number>()
    const removed: number[] = []
    let next = start
    for (const o of ops) {
      if (o.kind === 'append') {
        next += 1 + (o.value & 3) // global sequences: other clients take some in between
        list.set(next, o.value)
        model.set(next, o.value)
        continue
      }
      const held = [...model.keys()]
      if (o.kind === 'restore') {
        if (removed.length === 0) continue
        const seq = removed.splice(o.pick % removed.length, 1)[0]
        if (model.has(seq)) continue
        list.set(seq, o.value)
        model.set(seq, o.value)
        continue
      }
      if (held.length === 0) { assert.is(list.delete(next + 1), undefined); continue }
      const seq = held[o.pick % held.length]
      if (o.kind === 'set') { list.set(seq, o.value); model.set(seq, o.value); continue }
      assert.is(list.delete(seq), model.get(seq))
      model.delete(seq)
      removed.push(seq)
      assert.is(list.delete(seq), undefined, 'a second delete found it again')
    }
    assert.is(list.size, model.size)
    const sorted = [...model].sort((a, b) => a[0] - b[0])
    assert.equal([...list.entries()], sorted)
    for (const [seq, v] of sorted) assert.is(list.get(seq), v)
    for (const seq of removed) if (!model.has(seq)) assert.is(list.get(seq), undefined)
  }), { numRuns: 1000 })
})

test('a queue drained in order gives its arrays back as it shrinks', () => {
  const list = new SeqSizes()
  for (let i = 1; i <= 100_000; i++) list.set(i, 200)
  const full = heldBytes(list)
  assert.ok(full >= 100_000 * 12, `100k messages in ${full} bytes`)
  for (let i = 1; i <= 99_000; i++) list.delete(i)
  assert.ok(heldBytes(list) <= 1_000 * 12 * 6, `1k messages left still hold ${heldBytes(list)} bytes`)
  for (let i = 99_001; i <= 100_000; i++) list.delete(i)
  assert.is(heldBytes(list), 0)
  assert.is(list.size, 0)
  list.set(100_001, 5)
  assert.equal([...list.entries()], [[100_001, 5]])
})

test('a long queue is fixed-size chunks: one more per chunk of messages, the head\'s given back as it drains', () => {
  const list = new SeqSizes(1024)
  for (let i = 1; i <= 10_240; i++) list.set(i, 100)
  const own = list as unknown as { seqChunks: Float64Array[] }
  assert.is(own.seqChunks.length, 10)
  assert.ok(own.seqChunks.every((c) => c.length === 1024), 'chunks of one size: malloc reuses them for any queue')
  for (let i = 1; i <= 3_000; i++) list.delete(i)
  assert.is(own.seqChunks.length, 8, 'the two chunks wholly before the head were given back')
  assert.equal([...list.entries()][0], [3_001, 100])
})

test('a size of 0 (the hole marker) is refused with a clear error, and so is a chunk that is not a power of two', () => {
  assert.throws(() => new SeqSizes().set(1, 0), /non-zero integer/)
  assert.throws(() => new SeqSizes(1000), /power of two/)
})

// the typed arrays' bytes, read through the class's private fields
function heldBytes (list: SeqSizes): number {
  const own = list as unknown as { seqChunks: Float64Array[], sizeChunks: Int32Array[] }
  return [...own.seqChunks, ...own.sizeChunks].reduce((sum, a) => sum + a.byteLength, 0)
}

test.run()
