// Persistent subscriptions, held in memory for routing (aedes asks
// subscriptionsByTopic for every QoS > 0 publish) and mirrored in LevelDB.
// Loaded once at setup; the same qlobber trie aedes-persistence uses, so the
// order of matches is what aedes expects.
import QlobberSub from 'qlobber/aedes/qlobber-sub.js'
import type { SubscriptionRecord } from './record-codec.ts'

/** A subscription as aedes passes it in addSubscriptions. */
export interface SubscriptionInput {
  topic: string
  qos: number
  rh?: number
  rap?: boolean
  nl?: boolean
  subscriptionIdentifier?: number
}

/** A match returned for routing. */
export interface TopicSubscription { clientId: string, topic: string, qos?: number, rh?: number, rap?: boolean, nl?: boolean }

/** Topics whose matches the table keeps (a few hundred bytes each): more than a gateway's sensors publish on. */
export const MATCH_CACHE_ENTRIES = 4096
const NONE: readonly TopicSubscription[] = Object.freeze([])

/** The in-memory table of persistent subscriptions. */
export class SubscriptionTable {
  private readonly byClient = new Map<string, Map<string, SubscriptionRecord>>()
  // [MQTT-4.7.1-3] matchEmptyLevels as aedes's mqemitter does
  private readonly trie = new QlobberSub({ wildcard_one: '+', wildcard_some: '#', separator: '/', match_empty_levels: true })
  // Matches by topic, kept until the table changes. Every QoS 1/2 publish asks
  // for its topic two to four times (needsJournal, ackAfterStore, queueFull,
  // aedes's subscriptionsByTopic), and a trie match splits the topic and walks
  // the trie each time: 8 % of the broker's main thread in the offline-enqueue
  // benchmark, whose 500 topics missed the single-entry cache this replaced.
  // Gateways publish on a fixed set of topics (one or a few per sensor), so
  // the cache is bounded by entries, not by time: full, it starts over.
  private readonly matches = new Map<string, readonly TopicSubscription[]>()

  /** Adds or replaces subscriptions; returns the records to persist. */
  add (clientId: string, subs: readonly SubscriptionInput[]): Array<{ topic: string, record: SubscriptionRecord }> {
    let stored = this.byClient.get(clientId)
    if (stored === undefined) {
      stored = new Map()
      this.byClient.set(clientId, stored)
    }
    const out: Array<{ topic: string, record: SubscriptionRecord }> = []
    for (const sub of subs) {
      const record: SubscriptionRecord = { qos: sub.qos, rh: sub.rh, rap: sub.rap, nl: sub.nl }
      if (sub.subscriptionIdentifier !== undefined) record.subscriptionIdentifier = sub.subscriptionIdentifier
      this.put(clientId, stored, sub.topic, record)
      out.push({ topic: sub.topic, record })
    }
    return out
  }

  /** Loads one stored record at setup. */
  load (clientId: string, topic: string, record: SubscriptionRecord): void {
    let stored = this.byClient.get(clientId)
    if (stored === undefined) {
      stored = new Map()
      this.byClient.set(clientId, stored)
    }
    this.put(clientId, stored, topic, record)
  }

  /** Removes topics of a client; returns the topics that existed. */
  remove (clientId: string, topics: readonly string[]): string[] {
    const stored = this.byClient.get(clientId)
    if (stored === undefined) return []
    const removed: string[] = []
    for (const topic of topics) {
      const rec = stored.get(topic)
      if (rec === undefined) continue
      if (rec.qos > 0) { this.trie.remove(topic, { clientId, topic }); this.matches.clear() }
      stored.delete(topic)
      removed.push(topic)
    }
    if (stored.size === 0) this.byClient.delete(clientId)
    return removed
  }

  /** Removes every subscription of a client; returns their topics. */
  clean (clientId: string): string[] {
    const stored = this.byClient.get(clientId)
    if (stored === undefined) return []
    return this.remove(clientId, [...stored.keys()])
  }

  /** Subscriptions of one client, as aedes restores them on a non-clean reconnect. */
  ofClient (clientId: string): Array<SubscriptionRecord & { topic: string }> {
    const stored = this.byClient.get(clientId)
    if (stored === undefined) return []
    return [...stored].map(([topic, rec]) => ({ topic, ...rec }))
  }

  /** QoS > 0 subscriptions whose filter matches `topic`: a copy, the caller's to keep or change (aedes filters it). */
  match (topic: string): TopicSubscription[] {
    return this.matchShared(topic).slice()
  }

  /** The same, shared with the cache: read it, never change or keep it. */
  matchShared (topic: string): readonly TopicSubscription[] {
    // No persistent subscription at all (only clean sessions): nothing to split or walk.
    if (this.trie.subscriptionsCount === 0) return NONE
    let found = this.matches.get(topic)
    if (found === undefined) {
      found = this.trie.match(topic) as TopicSubscription[]
      if (this.matches.size >= MATCH_CACHE_ENTRIES) this.matches.clear()
      this.matches.set(topic, found)
    }
    return found
  }

  /** Clients holding a subscription to exactly `topic`. */
  * clientsOf (topic: string): Generator<string> {
    for (const [clientId, stored] of this.byClient) if (stored.has(topic)) yield clientId
  }

  /** Counts as countOffline reports them. */
  counts (): { subsCount: number, clientsCount: number } {
    return { subsCount: this.trie.subscriptionsCount, clientsCount: this.byClient.size }
  }

  private put (clientId: string, stored: Map<string, SubscriptionRecord>, topic: string, record: SubscriptionRecord): void {
    const previous = stored.get(topic)
    this.matches.clear()
    if (record.qos > 0) {
      this.trie.add(topic, { clientId, topic, qos: record.qos, rh: record.rh, rap: record.rap, nl: record.nl })
    } else if (previous !== undefined && previous.qos > 0) {
      this.trie.remove(topic, { clientId, topic })
    }
    stored.set(topic, record)
  }
}
