// Canary of src/engine/cache-emitter-matches.ts on the pinned mqemitter
// 7.1.0: _do matches every message through `_matcher.match(topic)`, on /
// removeListener / removeAllListeners change the trie through its add /
// remove, and fastparallel only reads the array it is given. With the cache
// on, a real emitter delivers what it delivered without it, through
// subscribes, unsubscribes and wildcards (fast-check).
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import fc from 'fast-check'
import mqemitter from 'mqemitter'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { cacheEmitterMatches } from '../../src/engine/cache-emitter-matches.ts'

const require = createRequire(import.meta.url)
const mqemitterFile = require.resolve('mqemitter')
const source = readFileSync(mqemitterFile, 'utf8')

test('mqemitter: _do matches through _matcher.match; on, removeListener and removeAllListeners go through _matcher.add / remove', () => {
  assert.match(source, /prototype\._do = function \(message, callback\) \{[\s\S]*?const matches = this\._matcher\.match\(message\.topic\)[\s\S]*?this\._parallel\(this, matches, message, callback\)/)
  assert.match(source, /prototype\.on = function on \(topic, notify, done\) \{[\s\S]*?this\._matcher\.add\(topic, notify\)/)
  assert.match(source, /prototype\.removeListener = function removeListener \(topic, notify, done\) \{[\s\S]*?that\._matcher\.remove\(topic, notify\)/)
  assert.match(source, /prototype\.removeAllListeners = function removeListener \(topic, done\) \{[\s\S]*?this\._matcher\.remove\(topic\)/)
  assert.not.match(source, /_matcher\.(?!match|add|remove\b)\w+/, 'no other member of the trie is used')
})

test('fastparallel: the array of listeners is read, never changed', () => {
  const parallel = readFileSync(createRequire(mqemitterFile).resolve('fastparallel'), 'utf8')
  assert.not.match(parallel, /(toCall|funcs)\s*\.\s*(push|pop|shift|unshift|splice|sort|reverse|fill|length\s*=(?!=))/)
  assert.not.match(parallel, /(toCall|funcs)\[[^\]]+\]\s*=[^=]/)
})

// few filters and topics, so that removals hit what was added and emits hit what was cached
const topicArb = fc.constantFrom('a', 'a/b', 'b', 'a/b/c')
const filterArb = fc.constantFrom('a', 'a/b', '+', '#', 'a/+', '+/b', 'a/#')
const stepArb = fc.oneof(
  fc.record({ k: fc.constant('on' as const), filter: filterArb, who: fc.nat(2) }),
  fc.record({ k: fc.constant('off' as const), filter: filterArb, who: fc.nat(2) }),
  fc.record({ k: fc.constant('offAll' as const), filter: filterArb }),
  fc.record({ k: fc.constant('emit' as const), topic: topicArb })
)

/** What a list of steps delivers: one line per delivery. */
async function run (steps: Array<{ k: string, filter?: string, who?: number, topic?: string }>, cached: boolean): Promise<string[]> {
  const mq = mqemitter({ matchEmptyLevels: true }) as ReturnType<typeof mqemitter> & { removeAllListeners: (topic: string, done: () => void) => void }
  if (cached) assert.ok(cacheEmitterMatches(mq, 4))
  const got: string[] = []
  const listeners = [0, 1, 2, 3].map((who) => (msg: { topic: string, n: number }, cb: () => void) => { got.push(`${who} ${msg.topic} ${msg.n}`); cb() })
  let n = 0
  for (const s of steps) {
    if (s.k === 'on') await new Promise<void>((resolve) => mq.on(s.filter!, listeners[s.who!] as never, () => resolve()))
    else if (s.k === 'off') await new Promise<void>((resolve) => mq.removeListener(s.filter!, listeners[s.who!] as never, () => resolve()))
    else if (s.k === 'offAll') await new Promise<void>((resolve) => mq.removeAllListeners(s.filter!, () => resolve()))
    else await new Promise<void>((resolve) => mq.emit({ topic: s.topic, n: n++ } as never, () => resolve()))
  }
  await new Promise<void>((resolve) => mq.close(() => resolve()))
  return got
}

test('property: with the cache (4 entries), an emitter delivers what it delivers without it', async () => {
  await fc.assert(fc.asyncProperty(fc.array(stepArb, { maxLength: 40 }), async (steps) => {
    assert.equal(await run(steps, true), await run(steps, false))
  }), {
    numRuns: 300,
    // a removal and an addition between two emits of a cached topic, seen by fast-check rarely on its own
    examples: [[[{ k: 'on', filter: 'a', who: 0 }, { k: 'on', filter: '#', who: 1 }, { k: 'emit', topic: 'a' }, { k: 'off', filter: '#', who: 1 }, { k: 'emit', topic: 'a' }, { k: 'offAll', filter: 'a' }, { k: 'emit', topic: 'a' }, { k: 'on', filter: '+', who: 2 }, { k: 'emit', topic: 'a' }]]]
  })
})

test.run()
