// Override: the topic matching of aedes's emitter (mqemitter), for one
// broker.
// What mqemitter 7.1.0 does: MQEmitter#_do asks its Qlobber trie
//   (`_matcher.match(message.topic)`) for the listeners of every message it
//   emits: the topic is split into words and the trie walked each time, and
//   a new array is made. In the offline-enqueue profile (issue 11: 500
//   topics, every subscriber away) the split alone was 3 % of the broker's
//   main thread, for an answer that only changes when a subscription does.
// What edgemq does instead: the answer is kept per topic until the trie
//   changes (every add, remove and clear of the trie empties the cache:
//   mqemitter's on, removeListener and removeAllListeners go through them),
//   bounded by entries (full, it starts over). Its users only read it
//   (fastparallel calls each listener in turn), so one array serves every
//   message of a topic. A gateway publishes on a fixed set of topics, so
//   nearly every message is a hit.
// Canary: test/engine/cache-emitter-matches.test.ts (_do matches through
//   `_matcher.match`, on/removeListener/removeAllListeners change the trie
//   through add/remove, fastparallel does not change the array).

/** Topics whose listeners are kept (one array of references each). */
export const EMITTER_MATCH_ENTRIES = 4096

/** The Qlobber members this override wraps. */
interface Matcher {
  match: (topic: string) => unknown[]
  add: (...args: unknown[]) => unknown
  remove: (...args: unknown[]) => unknown
  clear: (...args: unknown[]) => unknown
}

const INSTALLED = Symbol.for('edgemq.cachedEmitterMatches')

/** Caches the emitter's matches per topic; false when the emitter does not have the shape this was written for (nothing changed then). */
export function cacheEmitterMatches (mq: unknown, entries = EMITTER_MATCH_ENTRIES): boolean {
  const matcher = (mq as { _matcher?: Matcher & { [INSTALLED]?: true } })._matcher
  if (matcher === undefined || typeof matcher.match !== 'function' || typeof matcher.add !== 'function' || typeof matcher.remove !== 'function' || typeof matcher.clear !== 'function') return false
  if (matcher[INSTALLED] === true) return true
  const cache = new Map<string, unknown[]>()
  const match = matcher.match.bind(matcher)
  const add = matcher.add.bind(matcher)
  const remove = matcher.remove.bind(matcher)
  const clear = matcher.clear.bind(matcher)
  matcher.add = (...args) => { cache.clear(); return add(...args) }
  matcher.remove = (...args) => { cache.clear(); return remove(...args) }
  matcher.clear = (...args) => { cache.clear(); return clear(...args) }
  matcher.match = (topic) => {
    let found = cache.get(topic)
    if (found === undefined) {
      found = match(topic)
      if (cache.size >= entries) cache.clear()
      cache.set(topic, found)
    }
    return found
  }
  Object.defineProperty(matcher, INSTALLED, { value: true })
  return true
}
