// A SUBSCRIBE whose filters cannot match a stored retained message skips the
// retained lookup (no LevelDB iterator, counted by the store): issue 10. What
// must hold: every retained message a filter matches is still found
// [MQTT-3.3.1-9], across a restart (the first levels are loaded from the
// store) and before they are loaded, and a filter starting with a wildcard never matches a $ topic
// [MQTT-4.7.2-1].
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { createLevelPersistence, type LevelPersistence } from '../../src/persistence/level-persistence.ts'
import { RetainedLevels } from '../../src/persistence/retained-levels.ts'

const dir = mkdtempSync(join(tmpdir(), 'edgemq-retained-levels-'))
let n = 0
test.after(() => rmSync(dir, { recursive: true, force: true }))

function open (path: string): LevelPersistence {
  return createLevelPersistence({ path, sync: 'batch', syncInterval: 1000, cacheSize: 1 << 20, writeBufferSize: 1 << 20 })
}
const retained = (topic: string, payload: string): Record<string, unknown> =>
  ({ cmd: 'publish', topic, payload: Buffer.from(payload), qos: 0, retain: true, dup: false })

async function topics (stream: Readable): Promise<string[]> {
  const out: string[] = []
  for await (const m of stream) out.push((m as { topic: string }).topic)
  return out.sort()
}

/** Runs a lookup and returns its topics and how many LevelDB iterators it opened. */
async function lookup (p: LevelPersistence, filters: string[]): Promise<{ topics: string[], iterators: number }> {
  const before = p.stats().readIterators
  const found = await topics(p.createRetainedStreamCombi(filters))
  return { topics: found, iterators: p.stats().readIterators - before }
}

test('RetainedLevels: every filter may match until loaded; then by first level, wildcards only over non-$ levels', () => {
  const levels = new RetainedLevels()
  assert.ok(levels.mayMatch('anything/at/all'))
  levels.add('$SYS/broker/uptime')
  levels.markLoaded()
  assert.not.ok(levels.mayMatch('#'), '# does not match $SYS [MQTT-4.7.2-1]')
  assert.not.ok(levels.mayMatch('+/broker/uptime'))
  assert.ok(levels.mayMatch('$SYS/#'))
  assert.not.ok(levels.mayMatch('site/#'))
  levels.add('site')
  assert.ok(levels.mayMatch('site/#'), 'site/# matches the parent level site [MQTT-4.7.1-2]')
  assert.ok(levels.mayMatch('site'))
  assert.ok(levels.mayMatch('#'))
  assert.ok(levels.mayMatch('+'))
  assert.not.ok(levels.mayMatch('sit/#'))
  assert.not.ok(levels.mayMatch('site2/#'))
  levels.add('/leading/slash')
  assert.ok(levels.mayMatch('/leading/+'), 'an empty first level is a level')
  assert.ok(levels.mayMatchAny(['nope/#', 'site/a']))
  assert.not.ok(levels.mayMatchAny(['nope/#', 'other/+']))
})

test('a lookup under first levels with no retained message opens no iterator; matching ones find every message', async () => {
  const p = open(join(dir, `db-${++n}`))
  await p.setup({ id: 'b1' })
  assert.equal(await lookup(p, ['sensors/1/cmd']), { topics: [], iterators: 0 }, 'empty store')
  assert.equal(await lookup(p, ['#']), { topics: [], iterators: 0 })
  await p.storeRetained(retained('site/3/temp', '21'))
  await p.storeRetained(retained('site/4/temp', '22'))
  await p.storeRetained(retained('$SYS/broker/uptime', '5'))
  assert.equal(await lookup(p, ['sensors/1/cmd', 'sensors/+/cfg']), { topics: [], iterators: 0 })
  assert.equal((await lookup(p, ['site/3/temp'])).topics, ['site/3/temp'])
  assert.equal((await lookup(p, ['site/+/temp'])).topics, ['site/3/temp', 'site/4/temp'])
  assert.equal((await lookup(p, ['+/3/temp'])).topics, ['site/3/temp'])
  assert.equal((await lookup(p, ['#'])).topics, ['site/3/temp', 'site/4/temp'], '# does not match $SYS')
  assert.equal((await lookup(p, ['$SYS/#'])).topics, ['$SYS/broker/uptime'])
  assert.ok((await lookup(p, ['site/#'])).iterators > 0, 'a possible match is looked up')
  await p.close()
})

test('a retained message stored a moment before the lookup is found (the level is known before the write lands)', async () => {
  const p = open(join(dir, `db-${++n}`))
  await p.setup({ id: 'b1' })
  const written = p.storeRetained(retained('late/topic', 'x'))
  const found = await topics(p.createRetainedStreamCombi(['late/#']))
  await written
  assert.equal(found, ['late/topic'])
  await p.close()
})

test('after a restart the levels come from the store: matches found, others skipped; a deleted topic is not found', async () => {
  const path = join(dir, `db-${++n}`)
  const p = open(path)
  await p.setup({ id: 'b1' })
  await p.storeRetained(retained('kept/a', 'A'))
  await p.storeRetained(retained('gone/b', 'B'))
  await p.storeRetained(retained('gone/b', '')) // an empty payload deletes it [MQTT-3.3.1-10]
  await p.close()

  const p2 = open(path)
  await p2.ready()
  // open but not set up: the levels are not loaded yet, so every lookup reads the store
  assert.equal(await topics(p2.createRetainedStreamCombi(['#'])), ['kept/a'])
  await p2.setup({ id: 'b2' })
  assert.equal(await lookup(p2, ['kept/+']), { topics: ['kept/a'], iterators: 1 })
  assert.equal(await lookup(p2, ['gone/#']), { topics: [], iterators: 0 }, 'the deleted topic\'s level is not loaded')
  assert.equal(await lookup(p2, ['other/x']), { topics: [], iterators: 0 })
  await p2.storeRetained(retained('kept/a', ''))
  assert.equal((await lookup(p2, ['kept/+'])).topics, [], 'deleted in this run: looked up, not found')
  await p2.close()
})

test.run()
