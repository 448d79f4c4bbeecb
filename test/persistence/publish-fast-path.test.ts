// What a QoS 1 publish costs the store when only clean sessions receive it
// (issue 10): aedes still asks subscriptionsByTopic and outgoingEnqueueCombi
// for every QoS > 0 message and edgemq's `published` hook asks journalDone.
// None of them may write to LevelDB then, and journalDone gives no promise to
// wait on; with a persistent subscriber or a journal entry everything is
// written as before. Also: the remembered last match follows every change of
// the subscription table.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createLevelPersistence, type LevelPersistence } from '../../src/persistence/level-persistence.ts'
import { MATCH_CACHE_ENTRIES, SubscriptionTable } from '../../src/persistence/subscription-table.ts'

const dir = mkdtempSync(join(tmpdir(), 'edgemq-fastpath-'))
let n = 0
test.after(() => rmSync(dir, { recursive: true, force: true }))

async function open (): Promise<LevelPersistence> {
  const p = createLevelPersistence({ path: join(dir, `db-${++n}`), sync: 'batch', syncInterval: 1000, cacheSize: 1 << 20, writeBufferSize: 1 << 20 })
  await p.setup({ id: 'b1' })
  return p
}
const pub = (topic: string, messageId: number, qos = 1): Record<string, unknown> =>
  ({ cmd: 'publish', topic, payload: Buffer.from(`m${messageId}`), qos, messageId, retain: false, dup: false, brokerId: 'b1', brokerCounter: messageId })

test('a QoS 1 message with no persistent subscriber is neither journaled nor written, and journalDone has nothing to wait for', async () => {
  const p = await open()
  try {
    const before = p.stats().writeOps
    const packet = pub('sensors/1', 1)
    assert.is(p.needsJournal('sensors/1', 1, false), false)
    const subs = await p.subscriptionsByTopic('sensors/1')
    assert.equal(subs, [])
    await p.outgoingEnqueueCombi(subs, packet)
    assert.is(p.journalDone('pub', packet), undefined)
    assert.is(p.stats().writeOps, before, 'nothing may be written for it')
  } finally {
    await p.close()
  }
})

test('with a persistent subscriber the message is journaled, queued and its entry ended in the queue batch', async () => {
  const p = await open()
  try {
    await p.addSubscriptions({ id: 'keeper' }, [{ topic: 'sensors/+', qos: 1 }])
    const packet = pub('sensors/2', 2)
    assert.is(p.needsJournal('sensors/2', 1, false), true)
    await p.journalIncoming('pub', packet)
    assert.is(p.stats().journalPending, 1)
    const subs = await p.subscriptionsByTopic('sensors/2')
    assert.equal(subs.map((s) => s.clientId), ['keeper'])
    await p.outgoingEnqueueCombi(subs, { ...packet })
    assert.is(p.stats().journalPending, 0)
    assert.is(p.journalDone('pub', packet), undefined, 'the entry went with the queue batch')
    const queued: unknown[] = []
    for await (const m of p.outgoingStream({ id: 'keeper' })) queued.push(m)
    assert.is(queued.length, 1)
  } finally {
    await p.close()
  }
})

test('journalDone ends an entry aedes did not route through outgoingEnqueueCombi, and gives its write to wait on', async () => {
  const p = await open()
  try {
    await p.addSubscriptions({ id: 'keeper' }, [{ topic: 'x', qos: 1 }])
    const packet = pub('x', 3)
    await p.journalIncoming('pub', packet)
    const ended = p.journalDone('pub', packet)
    assert.ok(ended instanceof Promise)
    await ended
    assert.is(p.stats().journalPending, 0)
  } finally {
    await p.close()
  }
})

test('the remembered match follows adds, removes, QoS changes and cleans', () => {
  const table = new SubscriptionTable()
  assert.equal(table.match('a/b'), [])
  table.add('c1', [{ topic: 'a/+', qos: 1 }])
  assert.equal(table.match('a/b').map((s) => s.clientId), ['c1'])
  assert.equal(table.match('a/b').map((s) => s.clientId), ['c1'], 'asked twice, same answer')
  table.add('c2', [{ topic: 'a/#', qos: 2 }])
  assert.equal(table.match('a/b').map((s) => s.clientId).sort(), ['c1', 'c2'])
  table.add('c1', [{ topic: 'a/+', qos: 0 }]) // QoS 0: no longer routed to the offline queue
  assert.equal(table.match('a/b').map((s) => s.clientId), ['c2'])
  table.remove('c2', ['a/#'])
  assert.equal(table.match('a/b'), [])
  table.load('c3', 'a/b', { qos: 1, rh: 0, rap: false, nl: false })
  assert.equal(table.match('a/b').map((s) => s.clientId), ['c3'])
  table.clean('c3')
  assert.equal(table.match('a/b'), [])
})

test('a caller changing its match does not change the next caller\'s', () => {
  const table = new SubscriptionTable()
  table.add('c1', [{ topic: 't', qos: 1 }])
  const first = table.match('t')
  first.length = 0
  assert.equal(table.match('t').map((s) => s.clientId), ['c1'])
})

test('matches of many topics stay right past the cache\'s bound and after a change to a topic asked earlier', () => {
  const table = new SubscriptionTable()
  const topics = MATCH_CACHE_ENTRIES + 500
  for (let i = 0; i < topics; i++) table.add(`s${i}`, [{ topic: `sensor/${i}/t`, qos: 1 }])
  table.add('all', [{ topic: 'sensor/+/t', qos: 1 }])
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < topics; i++) assert.equal(table.match(`sensor/${i}/t`).map((s) => s.clientId).sort(), ['all', `s${i}`].sort(), `sensor/${i}/t, round ${round}`)
  }
  // topic 7 was asked long before: a change to it (and to the wildcard) shows at once
  table.remove('s7', ['sensor/7/t'])
  assert.equal(table.match('sensor/7/t').map((s) => s.clientId), ['all'])
  table.clean('all')
  assert.equal(table.matchShared('sensor/7/t'), [])
  assert.equal(table.matchShared('sensor/8/t').map((s) => s.clientId), ['s8'])
})

test.run()
