// The default offline-queue caps a config resolves to (queueLimitsOf in
// src/persistence/level-store.ts): per client by the data partition, store-wide
// by the memory the queued messages' entries may take (a fifth of
// memory.softMark at 21 bytes a message), so a long outage on a small board
// drops its oldest messages, counted and logged, instead of running the broker
// out of memory.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { resolveConfig } from '../../src/config/load-config.ts'
import { parseConfigText } from '../../src/config/config-file.ts'
import { QUEUE_BYTES_FLOOR, defaultQueuedTotal, queueLimitsOf } from '../../src/persistence/level-store.ts'
import { readLimitsSettings } from '../../src/limits/limits-settings.ts'
import type { EdgemqConfig } from '../../src/config/types.ts'

async function configOf (yaml: string): Promise<EdgemqConfig> {
  return (await resolveConfig({ file: parseConfigText(yaml, 'edgemq.yaml') })).config
}

test('unset: the store-wide cap follows the board\'s memory soft mark (rpi-zero-2w about 1.1 million, rpi-4b about 3.6 million)', async () => {
  const zero = await configOf('board: rpi-zero-2w\n')
  const four = await configOf('board: rpi-4b\n')
  const z = queueLimitsOf(zero, 16e9).maxTotalMessages
  const f = queueLimitsOf(four, 16e9).maxTotalMessages
  assert.is(z, defaultQueuedTotal(readLimitsSettings(zero).memory.softMark))
  assert.ok(z > 1_000_000 && z < 1_200_000, `rpi-zero-2w: ${z}`)
  assert.ok(f > 3_400_000 && f < 3_800_000, `rpi-4b: ${f}`)
  // at 21 bytes each (measured) the entries stay within a fifth of the soft mark
  assert.ok(z * 21 <= readLimitsSettings(zero).memory.softMark / 5)
})

test('under a memory cgroup smaller than the board\'s cap, the default follows the cgroup\'s lower soft mark', async () => {
  const zero = await configOf('board: rpi-zero-2w\n')
  const capped = queueLimitsOf(zero, 16e9, 64 * 1024 * 1024).maxTotalMessages
  assert.is(capped, defaultQueuedTotal(readLimitsSettings(zero, 64 * 1024 * 1024).memory.softMark))
  assert.ok(capped < queueLimitsOf(zero, 16e9).maxTotalMessages, `64 MiB cgroup: ${capped}`)
})

test('set: persistence.maxQueuedMessagesTotal wins, 0 turns the cap off; the per-client cap keeps its floor', async () => {
  assert.is(queueLimitsOf(await configOf('board: rpi-zero-2w\npersistence: { maxQueuedMessagesTotal: 5000 }\n')).maxTotalMessages, 5000)
  assert.is(queueLimitsOf(await configOf('board: rpi-zero-2w\npersistence: { maxQueuedMessagesTotal: 0 }\n')).maxTotalMessages, 0)
  assert.is(queueLimitsOf(await configOf('board: rpi-zero-2w\n'), 0).maxBytes, QUEUE_BYTES_FLOOR)
})

test('a bad value is refused with the option\'s name', async () => {
  const err: unknown = await configOf('board: rpi-zero-2w\npersistence: { maxQueuedMessagesTotal: -1 }\n').then(() => undefined, (e: unknown) => e)
  assert.ok(err !== undefined, 'a negative store-wide cap was accepted')
  assert.match(String(err), /maxQueuedMessagesTotal/)
})

test.run()
