// Pure MQTT topic-filter logic for retained-message lookups. A SUBSCRIBE to
// `site/3/+/temp` must not read every retained message on the gateway: the
// literal prefix `site/3/` bounds the LevelDB range scan, the matcher filters it.

/** Whether `topic` matches the MQTT filter `filter` (`+` one level, `#` the rest). */
export function topicMatches (filter: string, topic: string): boolean {
  // [MQTT-4.7.2-1] a filter starting with a wildcard does not match $-topics
  if ((filter[0] === '#' || filter[0] === '+') && topic[0] === '$') return false
  const f = filter.split('/')
  const t = topic.split('/')
  for (let i = 0; i < f.length; i++) {
    const level = f[i]
    // [MQTT-4.7.1-2] `#` also matches the parent level: `a/#` matches `a`
    if (level === '#') return i === f.length - 1
    if (i >= t.length) return false
    if (level !== '+' && level !== t[i]) return false
  }
  return f.length === t.length
}

/** The literal part of a filter before its first wildcard level (`a/b/+/c` -> `a/b/`). */
export function literalPrefix (filter: string): string {
  const plus = filter.indexOf('+')
  const hash = filter.indexOf('#')
  const cut = Math.min(plus === -1 ? filter.length : plus, hash === -1 ? filter.length : hash)
  if (cut === filter.length) return filter
  // `a/#` must also match `a`, so drop the separator before a trailing `#`
  if (filter[cut] === '#' && cut > 0) return filter.slice(0, cut - 1)
  return filter.slice(0, cut)
}

/**
 * The key-prefix ranges that cover a set of filters: one per distinct literal
 * prefix, a prefix contained in a shorter one dropped. An empty prefix means a
 * full scan of retained messages (a filter starting with `+` or `#`).
 */
export function coveringPrefixes (filters: readonly string[]): string[] {
  const prefixes = [...new Set(filters.map(literalPrefix))].sort()
  const out: string[] = []
  for (const p of prefixes) {
    if (out.length > 0 && p.startsWith(out[out.length - 1])) continue
    out.push(p)
  }
  return out
}
