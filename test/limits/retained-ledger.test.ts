import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { RetainedLedger } from '../../src/limits/retained-ledger.ts'

const limits = { maxMessages: 3, maxBytes: 100, maxMessagesPerClient: 2, maxBytesPerClient: 50 }

test('counts topics and bytes, globally and per owner; empty payload deletes', () => {
  const l = new RetainedLedger()
  l.apply('a', 10, 'c1')
  l.apply('b', 20, 'c1')
  l.apply('a', 5, 'c1') // replace
  assert.is(l.count, 2)
  assert.is(l.bytes, 25)
  assert.equal(l.owner('c1'), { count: 2, bytes: 25 })
  l.apply('b', 0, 'c2')
  assert.equal(l.owner('c1'), { count: 1, bytes: 5 })
  assert.is(l.count, 1)
})

test('refuses a new topic past the per-client count, but lets the client replace its own', () => {
  const l = new RetainedLedger()
  l.apply('a', 10, 'c1')
  l.apply('b', 10, 'c1')
  assert.match(l.check('c', 10, 'c1', limits, false) ?? '', 'maxRetainedMessagesPerClient')
  assert.is(l.check('a', 10, 'c1', limits, false), undefined)
  assert.is(l.check('c', 10, 'c2', limits, false), undefined)
})

test('refuses past the global count and bytes', () => {
  const l = new RetainedLedger()
  l.apply('a', 40, 'x')
  l.apply('b', 40, 'y')
  assert.match(l.check('c', 30, 'z', limits, false) ?? '', 'maxRetainedBytes')
  l.apply('c', 1, 'z')
  assert.match(l.check('d', 1, 'w', limits, false) ?? '', 'maxRetainedMessages')
})

test('per-client bytes', () => {
  const l = new RetainedLedger()
  l.apply('a', 45, 'c1')
  assert.match(l.check('b', 10, 'c1', limits, false) ?? '', 'maxRetainedBytesPerClient')
})

test('above the soft mark only deletions and shrinking replacements pass', () => {
  const l = new RetainedLedger()
  l.apply('a', 10, 'c1')
  assert.ok(l.check('b', 1, 'c1', limits, true) !== undefined)
  assert.is(l.check('a', 5, 'c1', limits, true), undefined)
  assert.is(l.check('a', 0, 'c1', limits, true), undefined)
})

test.run()
