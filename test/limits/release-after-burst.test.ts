// The release after a burst as a state machine (src/limits/release-after-burst.ts):
// a collection is due only after the heap grew by the burst size above its
// lowest level, and only once the loop has been quiet long enough; at most
// once per interval; the level after a release is the new baseline.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { BurstRelease } from '../../src/limits/release-after-burst.ts'

const MiB = 1024 * 1024
const options = { growthBytes: 8 * MiB, quietUtilization: 0.05, quietMs: 2000, minIntervalMs: 60_000 }

test('no growth: a quiet loop never collects', () => {
  const r = new BurstRelease(options)
  for (let t = 0; t <= 10_000; t += 500) assert.is(r.observe(t, 20 * MiB, 0), false, `t=${t}`)
})

test('growth of the burst size, then 2 s quiet: due once the quiet time is over, not before', () => {
  const r = new BurstRelease(options)
  assert.is(r.observe(0, 20 * MiB, 0.9), false)
  assert.is(r.observe(500, 30 * MiB, 0.9), false) // busy: the burst is running
  assert.is(r.observe(1000, 30 * MiB, 0.01), false) // quiet from here
  assert.is(r.observe(2500, 30 * MiB, 0.01), false) // 1.5 s quiet
  assert.is(r.observe(3000, 30 * MiB, 0.01), true) // 2 s quiet
})

test('growth just under the burst size is not a burst', () => {
  const r = new BurstRelease(options)
  r.observe(0, 20 * MiB, 0)
  for (let t = 500; t <= 10_000; t += 500) assert.is(r.observe(t, 28 * MiB - 1, 0), false, `t=${t}`)
})

test('a busy reading restarts the quiet time', () => {
  const r = new BurstRelease(options)
  r.observe(0, 20 * MiB, 0)
  assert.is(r.observe(500, 30 * MiB, 0.01), false)
  assert.is(r.observe(2000, 30 * MiB, 0.5), false)
  assert.is(r.observe(2500, 30 * MiB, 0.01), false)
  assert.is(r.observe(4000, 30 * MiB, 0.01), false)
  assert.is(r.observe(4500, 30 * MiB, 0.01), true)
})

test('after a release: the level after it is the baseline, and no second one within the interval', () => {
  const r = new BurstRelease(options)
  r.observe(0, 20 * MiB, 0)
  assert.is(r.observe(2000, 40 * MiB, 0), true)
  r.released(2000, 36 * MiB)
  // grows by 10 MiB over the new baseline: a burst, but the interval is not over
  assert.is(r.observe(5000, 46 * MiB, 0), false)
  assert.is(r.observe(61_999, 46 * MiB, 0), false)
  assert.is(r.observe(62_000, 46 * MiB, 0), true)
  r.released(62_000, 40 * MiB)
  // the heap V8 shrank later is the new lowest level
  r.observe(70_000, 22 * MiB, 0)
  assert.is(r.observe(130_000, 29 * MiB, 0), false)
  assert.is(r.observe(130_500, 30 * MiB, 0), true)
})

test.run()
