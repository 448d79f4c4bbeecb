import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { formatDuration, formatSize, parseDuration, parseSize } from '../../src/config/units.ts'

test('parseSize reads units as powers of 1024 and plain numbers as bytes', () => {
  assert.is(parseSize('256KB'), 262_144)
  assert.is(parseSize('64 MiB'), 67_108_864)
  assert.is(parseSize('1g'), 1_073_741_824)
  assert.is(parseSize(1024), 1024)
  assert.is(parseSize('1024'), 1024)
})

test('parseSize refuses what is not a size', () => {
  for (const bad of ['', 'KB', '12 parsecs', '-1', -5, null, {}, '1e9']) assert.is(parseSize(bad), undefined, JSON.stringify(bad))
})

test('parseDuration reads ms, s, m, h, d', () => {
  assert.is(parseDuration('250ms'), 250)
  assert.is(parseDuration('30s'), 30_000)
  assert.is(parseDuration('5m'), 300_000)
  assert.is(parseDuration('1h'), 3_600_000)
  assert.is(parseDuration('7d'), 604_800_000)
  assert.is(parseDuration(1500), 1500)
  assert.is(parseDuration('soon'), undefined)
})

test('format round-trips through parse', () => {
  for (const n of [1, 1024, 262_144, 3 * 1024 ** 3]) assert.is(parseSize(formatSize(n)), n)
  for (const n of [1, 999, 1000, 90_000, 3_600_000]) assert.is(parseDuration(formatDuration(n)), n)
})

test.run()
