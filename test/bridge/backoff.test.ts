import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { backoffDelay } from '../../src/bridge/backoff.ts'

const opts = { initialDelay: 1000, maxDelay: 60_000 }

test('delays double per attempt, between half and all of the base', () => {
  assert.is(backoffDelay(0, opts, () => 0), 500)
  assert.is(backoffDelay(0, opts, () => 1), 1000)
  assert.is(backoffDelay(3, opts, () => 0), 4000)
  assert.is(backoffDelay(3, opts, () => 1), 8000)
})

test('delays are capped at maxDelay however many attempts failed', () => {
  assert.is(backoffDelay(10, opts, () => 1), 60_000)
  assert.is(backoffDelay(1e9, opts, () => 1), 60_000)
  assert.is(backoffDelay(1e9, opts, () => 0), 30_000, 'a floor of half the cap: never hammer a broken upstream')
})

test('jitter spreads a fleet: different random draws give different delays', () => {
  const seen = new Set<number>()
  let x = 0.123
  for (let i = 0; i < 20; i++) { x = (x * 9301 + 0.4929) % 1; seen.add(backoffDelay(5, opts, () => x)) }
  assert.ok(seen.size > 10)
})

test.run()
