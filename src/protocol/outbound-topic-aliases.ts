// Server-sent topic aliases (MQTT 5.0 §3.3.2.3.4): the topics a connection
// receives most often are replaced by a 2-byte alias, which on a gateway's
// radio link saves the topic's bytes on every message. Pure: the caller asks
// what to send for each PUBLISH and writes it.
//
// Policy: a topic earns an alias on its second delivery (one-off topics never
// take one). While aliases are free they are handed out in turn; when all are
// taken, the alias of the least used aliased topic moves to a topic that has
// now been delivered more often than it (counts halve every 1024 deliveries,
// so yesterday's busy topic does not keep its alias for ever). The counted
// topics are bounded (COUNTED_MAX) so a client subscribed to `#` on a busy
// broker costs a fixed amount of memory.

/** What to put in one outgoing PUBLISH. */
export interface AliasChoice {
  /** The topic name to send: the topic, or '' when the alias alone stands for it. */
  topic: string
  /** The Topic Alias property to send, or undefined for none. */
  alias?: number
}

const COUNTED_MAX = 256
const DECAY_EVERY = 1024

/** The alias table of one connection. */
export class OutboundTopicAliases {
  private readonly aliasOf = new Map<string, number>()
  private readonly topicOf: Array<string | undefined> = []
  private readonly counts = new Map<string, number>()
  private deliveries = 0

  /** @param max aliases this connection may use: min(client's Topic Alias Maximum, the server's budget). */
  constructor (readonly max: number) {}

  /** Aliases in use. */
  get size (): number { return this.aliasOf.size }

  /** Decides how the next PUBLISH of `topic` goes out, and records it. */
  choose (topic: string): AliasChoice {
    if (this.max <= 0 || topic.length === 0) return { topic }
    const count = this.count(topic)
    const alias = this.aliasOf.get(topic)
    if (alias !== undefined) return { topic: '', alias } // [MQTT-3.3.2-12] the mapping is set on this connection
    if (count < 2) return { topic }
    if (this.aliasOf.size < this.max) return this.assign(topic, this.aliasOf.size + 1)
    // all taken: move the least used alias if this topic is now busier
    let victim: string | undefined
    let least = Number.POSITIVE_INFINITY
    for (const t of this.aliasOf.keys()) {
      const c = this.counts.get(t) ?? 0
      if (c < least) { least = c; victim = t }
    }
    if (victim === undefined || count <= least) return { topic }
    const freed = this.aliasOf.get(victim) as number
    this.aliasOf.delete(victim)
    return this.assign(topic, freed)
  }

  /** Sends the topic with the alias: the receiver (re)maps the alias to it [MQTT-3.3.2-12]. */
  private assign (topic: string, alias: number): AliasChoice {
    this.aliasOf.set(topic, alias)
    this.topicOf[alias] = topic
    return { topic, alias }
  }

  private count (topic: string): number {
    if (++this.deliveries % DECAY_EVERY === 0) {
      for (const [t, c] of this.counts) {
        const half = c >> 1
        if (half === 0 && !this.aliasOf.has(t)) this.counts.delete(t)
        else this.counts.set(t, Math.max(half, 1))
      }
    }
    let c = this.counts.get(topic)
    if (c === undefined) {
      if (this.counts.size >= COUNTED_MAX) this.evictCount()
      c = 0
    }
    this.counts.set(topic, ++c)
    return c
  }

  /** Forgets the least counted topic that holds no alias. */
  private evictCount (): void {
    let victim: string | undefined
    let least = Number.POSITIVE_INFINITY
    for (const [t, c] of this.counts) {
      if (c < least && !this.aliasOf.has(t)) { least = c; victim = t }
    }
    if (victim !== undefined) this.counts.delete(victim)
  }
}
