// Topic-filter algebra for the ACL: does a filter match a topic, do two
// filters share a topic, does one filter cover another. All three honour
// [MQTT-4.7.2-1]: a filter starting with a wildcard never matches a topic
// starting with "$", so `#` and `+/#` never reach $SYS.

/** Splits a topic or filter into levels. */
export function splitLevels (topic: string): string[] {
  return topic.split('/')
}

/** Strips `$share/<group>/` from a shared-subscription filter [MQTT-4.8.2]; other filters come back unchanged. */
export function stripShare (filter: string): string {
  if (!filter.startsWith('$share/')) return filter
  const slash = filter.indexOf('/', 7)
  return slash < 0 ? filter : filter.slice(slash + 1)
}

const isDollar = (level: string | undefined): boolean => level !== undefined && level.startsWith('$')
const isWild = (level: string | undefined): boolean => level === '+' || level === '#'

/** Whether filter levels match topic levels. */
export function filterMatches (filter: readonly string[], topic: readonly string[]): boolean {
  if (isDollar(topic[0]) && isWild(filter[0])) return false // [MQTT-4.7.2-1]
  for (let i = 0; i < filter.length; i++) {
    const f = filter[i]
    if (f === '#') return true // [MQTT-4.7.1-2] also matches the parent level
    if (i >= topic.length) return false
    if (f !== '+' && f !== topic[i]) return false
  }
  return filter.length === topic.length
}

/** Whether some topic matches both filters (a subscription that can receive something a rule grants). */
export function filtersOverlap (a: readonly string[], b: readonly string[]): boolean {
  if ((isDollar(a[0]) && !isWild(a[0]) && isWild(b[0])) || (isDollar(b[0]) && !isWild(b[0]) && isWild(a[0]))) return false
  const n = Math.max(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a[i]; const y = b[i]
    if (x === '#' || y === '#') return true
    if (x === undefined || y === undefined) return false
    if (x !== '+' && y !== '+' && x !== y) return false
  }
  return true
}

/** Whether every topic `inner` matches is also matched by `outer` (a deny rule that swallows a whole subscription). */
export function filterCovers (outer: readonly string[], inner: readonly string[]): boolean {
  if (isWild(outer[0]) && isDollar(inner[0]) && !isWild(inner[0])) return false
  for (let i = 0; i < outer.length; i++) {
    const o = outer[i]
    if (o === '#') return true
    const x = inner[i]
    if (x === undefined || x === '#') return false
    if (o !== '+' && (x === '+' || o !== x)) return false
  }
  return inner.length === outer.length
}
