// The day projection of the flash-wear scenario (pure).
// (part of `npm test`; alone: node test/run.mjs test/bench/wear-projection.test.ts)
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { SECONDS_PER_DAY, projectWearDay } from './wear-projection.ts'

test('a broker that writes as it goes: the window scaled to 86,400 s, per message from the window', () => {
  // 100 sensors at 1/s for 10 s: 1,000 messages, 300 kB written
  const day = projectWearDay({ windowBytes: 300_000, windowSeconds: 10, messages: 1_000, snapshotBytes: 0, snapshotIntervalS: 0 })
  assert.is(day.bytesPerMsg, 300)
  assert.is(day.messagesPerDay, 8_640_000)
  assert.is(day.streamBytesPerDay, 300_000 * 8_640)
  assert.is(day.snapshotBytesPerDay, 0)
  assert.is(day.bytesPerDay, day.streamBytesPerDay)
})

test('a broker that saves snapshots: one per interval a day (48 at 1800 s), each the size of the one measured', () => {
  const day = projectWearDay({ windowBytes: 0, windowSeconds: 10, messages: 1_000, snapshotBytes: 4_096, snapshotIntervalS: 1_800 })
  assert.is(day.bytesPerMsg, 0)
  assert.is(day.snapshotBytesPerDay, 48 * 4_096)
  assert.is(day.bytesPerDay, 48 * 4_096)
  // an interval that does not divide the day counts whole snapshots only
  assert.is(projectWearDay({ windowBytes: 0, windowSeconds: 1, messages: 1, snapshotBytes: 1, snapshotIntervalS: 50_000 }).snapshotBytesPerDay, 1)
  assert.is(SECONDS_PER_DAY, 24 * 3600)
})

test('a window that cannot be scaled is refused with the reason', () => {
  assert.throws(() => projectWearDay({ windowBytes: 1, windowSeconds: 0, messages: 1, snapshotBytes: 0, snapshotIntervalS: 0 }), /window must last more than 0 s/)
  assert.throws(() => projectWearDay({ windowBytes: 1, windowSeconds: 1, messages: 0, snapshotBytes: 0, snapshotIntervalS: 0 }), /no message was acknowledged/)
  assert.throws(() => projectWearDay({ windowBytes: -5, windowSeconds: 1, messages: 1, snapshotBytes: 0, snapshotIntervalS: 0 }), /only grow/)
})

test.run()
