import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { TokenBucket } from '../../src/throttle/token-bucket.ts'

const clock = (): { now: () => number, advance: (ms: number) => void } => {
  let t = 1000
  return { now: () => t, advance: (ms) => { t += ms } }
}

test('starts full and lets a burst through without waiting', () => {
  const c = clock()
  const b = new TokenBucket(100, 50, c.now)
  assert.is(b.take(50), 0)
  assert.ok(b.take(1) > 0)
})

test('debt is paid back at the rate: 100 tokens/s, 50 over → 500 ms', () => {
  const c = clock()
  const b = new TokenBucket(100, 0, c.now)
  assert.is(b.take(50), 500)
  c.advance(500)
  assert.is(b.available(), 0)
})

test('refills at the rate and never past the burst', () => {
  const c = clock()
  const b = new TokenBucket(10, 20, c.now)
  b.take(20)
  c.advance(1000)
  assert.is(b.available(), 10)
  c.advance(10_000)
  assert.is(b.available(), 20)
})

test('long-run rate equals the configured rate (1,000 takes of 10 at 1,000/s take 10 s)', () => {
  const c = clock()
  const b = new TokenBucket(1000, 0, c.now)
  let elapsed = 0
  for (let i = 0; i < 1000; i++) {
    const wait = b.take(10)
    c.advance(wait)
    elapsed += wait
  }
  assert.ok(Math.abs(elapsed - 10_000) < 1, `elapsed ${elapsed}`)
})

test('rate 0 means unlimited', () => {
  const b = new TokenBucket(0, 0, () => 0)
  assert.is(b.take(1e9), 0)
  assert.ok(b.tryTake(5))
})

test('tryTake refuses without going into debt', () => {
  const c = clock()
  const b = new TokenBucket(1, 2, c.now)
  assert.ok(b.tryTake())
  assert.ok(b.tryTake())
  assert.not.ok(b.tryTake())
  c.advance(1000)
  assert.ok(b.tryTake())
})

test('setRate from unlimited starts full; lowering the burst caps saved tokens', () => {
  const c = clock()
  const b = new TokenBucket(0, 0, c.now)
  b.setRate(10, 5)
  assert.is(b.available(), 5)
  b.setRate(10, 2)
  assert.is(b.available(), 2)
})

test('a clock that does not move never refills (monotonic input only)', () => {
  const b = new TokenBucket(10, 1, () => 5)
  assert.ok(b.tryTake())
  assert.not.ok(b.tryTake())
})

test.run()
