// The first topic levels under which retained messages may be stored, so a
// SUBSCRIBE whose filters cannot match any of them skips the retained lookup
// (issue 10: aedes asks for one on every SUBSCRIBE; its LevelDB iterator was
// ~11 % of the broker's CPU in a connect + subscribe storm, with no retained
// message on the gateway to find).
//
// Invariant: every stored retained topic's first level is in the set. It is
// loaded from the store's keys at setup (every filter may match before) and added to before each retained
// write is queued; a deleted topic's level stays until the next start (a
// superset only costs a scan that finds nothing, never a missed message).

/** The first levels of stored retained topics (a superset; see above). */
export class RetainedLevels {
  readonly #levels = new Set<string>()
  /** How many of them do not start with `$`, the ones a filter starting with a wildcard can match. */
  #plain = 0
  /** Until the store's keys are loaded every filter may match. */
  #loaded = false

  /** Call once every stored retained topic has been added (setup). */
  markLoaded (): void {
    this.#loaded = true
  }

  /** Notes a retained topic that is (or is about to be) stored. */
  add (topic: string): void {
    const level = firstLevel(topic)
    if (this.#levels.has(level)) return
    this.#levels.add(level)
    if (level[0] !== '$') this.#plain++
  }

  /** Whether a retained message matching `filter` may be stored. */
  mayMatch (filter: string): boolean {
    if (!this.#loaded) return true
    const level = firstLevel(filter)
    // [MQTT-4.7.2-1] a filter starting with a wildcard does not match $-topics
    if (level === '#' || level === '+') return this.#plain > 0
    return this.#levels.has(level)
  }

  /** Whether a retained message matching any of `filters` may be stored. */
  mayMatchAny (filters: readonly string[]): boolean {
    for (const f of filters) if (this.mayMatch(f)) return true
    return false
  }

  /** Number of first levels known. */
  get size (): number {
    return this.#levels.size
  }
}

function firstLevel (topic: string): string {
  const slash = topic.indexOf('/')
  return slash === -1 ? topic : topic.slice(0, slash)
}
