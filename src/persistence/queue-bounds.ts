// Per-client bounds of the offline queues (limits.maxQueuedMessages /
// maxQueuedBytes, Mosquitto's max_queued_messages / max_queued_bytes). A client
// that never comes back would otherwise fill the SD card one queued message at
// a time. Only the O records (messages still holding a payload) count; a
// message in its PUBREL phase holds 10 bytes and is bounded by the inflight
// window, not by this.
//
// The figures of a client are loaded lazily, by one range scan the first time
// this process enqueues for it, then kept up to date by the outgoing store.
import type { StoreContext } from './store-context.ts'
import { clientPrefix, KIND, prefixRange, readSeqAtEnd } from './store-keys.ts'

// Dropped messages remembered for a late outgoingUpdate (all clients): the race
// lasts a setImmediate or one drain batch, so a few thousand is plenty.
const MAX_RECENTLY_DROPPED = 4096

/** Caps on one client's offline queue; 0 = no cap. */
export interface QueueBoundLimits {
  maxMessages: number
  maxBytes: number
  /** limits.queueFullPolicy refuse-new: a full queue refuses the new message instead of dropping its oldest. */
  refuseNew?: boolean
}

interface Tracked {
  bytes: number
  /** Has a packet id (sent, awaiting PUBACK / PUBREC): never dropped while an older queued one can be. */
  inflight: boolean
}

/** The queued messages of one client, oldest first (Map keeps insertion order, sequences only grow). */
export class ClientQueue {
  readonly items = new Map<number, Tracked>()
  bytes = 0

  get count (): number { return this.items.size }

  /** Appends a message at the end of the queue. */
  add (seq: number, bytes: number, inflight = false): void {
    const old = this.items.get(seq)
    if (old !== undefined) this.bytes -= old.bytes
    this.items.set(seq, { bytes, inflight })
    this.bytes += bytes
  }

  /** Forgets a message (acknowledged, moved to PUBREL, dropped). */
  remove (seq: number): void {
    const old = this.items.get(seq)
    if (old === undefined) return
    this.items.delete(seq)
    this.bytes -= old.bytes
  }

  /** Records a packet id given to a message, and its new stored size when it was rewritten. */
  markInflight (seq: number, bytes?: number): void {
    const item = this.items.get(seq)
    if (item === undefined) return
    item.inflight = true
    if (bytes !== undefined) { this.bytes += bytes - item.bytes; item.bytes = bytes }
  }

  /**
   * Sequences to drop, oldest queued (not inflight) first, so a message of
   * `incoming` bytes fits; `accept` false when it cannot fit without dropping
   * an inflight one (then the incoming message is the one dropped).
   */
  planDrops (incoming: number, limits: QueueBoundLimits): { drop: number[], accept: boolean } {
    const { maxMessages, maxBytes } = limits
    if (maxBytes > 0 && incoming > maxBytes) return { drop: [], accept: false }
    let count = this.items.size
    let bytes = this.bytes
    const over = (): boolean => (maxMessages > 0 && count + 1 > maxMessages) || (maxBytes > 0 && bytes + incoming > maxBytes)
    if (!over()) return { drop: [], accept: true }
    if (limits.refuseNew === true) return { drop: [], accept: false }
    const drop: number[] = []
    for (const [seq, item] of this.items) {
      if (item.inflight) continue
      drop.push(seq)
      count--
      bytes -= item.bytes
      if (!over()) return { drop, accept: true }
    }
    // only inflight messages left: they stay, the newcomer is the one dropped
    return { drop: [], accept: false }
  }
}

/** The tracked clients of one store and the drop counter. */
export class QueueBounds {
  limits: QueueBoundLimits = { maxMessages: 0, maxBytes: 0 }
  /** Messages dropped from (or refused by) a full offline queue since the process started. */
  dropped = 0
  /** The same, per client (a client id stays here until the process ends: one number each). */
  readonly droppedBy = new Map<string, number>()
  // Last drop log per client (monotonic ms): one line per client per interval, not one per message.
  private readonly loggedAt = new Map<string, number>()
  private readonly clients = new Map<string, ClientQueue>()
  // Sequences removed while a client's load scan runs: its snapshot may still hold them.
  private readonly loading = new Map<string, Set<number>>()
  // Recently dropped messages (client + counter key -> sequence). aedes may
  // already be sending one (a live delivery waits a setImmediate, a drain may
  // have read it): its outgoingUpdate must not fail, or aedes closes the client.
  private readonly recentlyDropped = new Map<string, number>()

  /** Whether any cap is set (no cap: nothing is tracked, no cost on the publish path). */
  get enabled (): boolean {
    return this.limits.maxMessages > 0 || this.limits.maxBytes > 0
  }

  /** Changes the caps (reload); turning them off forgets every tracked figure. */
  setLimits (limits: QueueBoundLimits): void {
    this.limits = { maxMessages: Math.max(0, Math.floor(limits.maxMessages)), maxBytes: Math.max(0, Math.floor(limits.maxBytes)), refuseNew: limits.refuseNew === true }
    if (!this.enabled) { this.clients.clear(); this.loading.clear(); this.recentlyDropped.clear() }
  }

  /** The figures of a client, when loaded. */
  get (clientId: string): ClientQueue | undefined {
    return this.clients.get(clientId)
  }

  /** Whether a message of `bytes` would not fit in the loaded queue of `clientId` (figures not loaded yet: it fits). */
  wouldOverflow (clientId: string, bytes: number): boolean {
    const q = this.clients.get(clientId)
    if (q === undefined || !this.enabled) return false
    const { maxMessages, maxBytes } = this.limits
    return (maxMessages > 0 && q.count + 1 > maxMessages) || (maxBytes > 0 && q.bytes + bytes > maxBytes)
  }

  /** Whether a client still needs its load scan. */
  needsLoad (clientId: string): boolean {
    return this.enabled && !this.clients.has(clientId)
  }

  /**
   * Loads a client's figures: one range scan of its O records (sizes) and U
   * records (stored packet ids); `inflight()` adds the ids aedes gave in this
   * process, read after the scan so none given meanwhile is missed.
   * `mayHoldState` false: the client has no U record (outgoing-store.ts
   * knows), so that range is not read.
   */
  async load (ctx: StoreContext, clientId: string, inflight: () => number[], mayHoldState = true): Promise<void> {
    if (this.loading.has(clientId)) return
    const removed = new Set<number>()
    this.loading.set(clientId, removed)
    try {
      // Called as the prepare step of a gated write (write-queue.ts
      // writeAfter): every write queued before it has landed, so the scan sees
      // them; removals queued after it are subtracted through `removed`.
      const withState = new Set<number>()
      if (mayHoldState) for await (const key of ctx.db.keys(prefixRange(clientPrefix(KIND.OUT_STATE, clientId)))) withState.add(readSeqAtEnd(key))
      const q = new ClientQueue()
      for await (const [key, value] of ctx.db.iterator(prefixRange(clientPrefix(KIND.OUT, clientId)))) {
        const seq = readSeqAtEnd(key)
        q.add(seq, value.length, withState.has(seq))
      }
      for (const seq of inflight()) q.markInflight(seq)
      for (const seq of removed) q.remove(seq)
      if (this.enabled && this.loading.get(clientId) === removed) this.clients.set(clientId, q)
    } finally {
      if (this.loading.get(clientId) === removed) this.loading.delete(clientId)
    }
  }

  /**
   * Counts `n` messages a full queue of `clientId` dropped (or refused) and
   * logs it, at most once per client every 10 s with the running count: a
   * dropped acknowledged message is never silent.
   */
  noteDropped (clientId: string, n: number, log: (msg: string, fields: Record<string, string | number>) => void, now = performance.now()): void {
    this.dropped += n
    const total = (this.droppedBy.get(clientId) ?? 0) + n
    this.droppedBy.set(clientId, total)
    const last = this.loggedAt.get(clientId)
    if (last !== undefined && now - last < 10_000) return
    this.loggedAt.set(clientId, now)
    log('offline queue full: queued messages dropped', { client: clientId, droppedTotal: total, maxMessages: this.limits.maxMessages, maxBytes: this.limits.maxBytes })
  }

  /** Remembers a dropped message aedes may be sending right now (see restore in outgoing-store.ts). */
  rememberDropped (clientId: string, counterKey: string, seq: number): void {
    if (this.recentlyDropped.size >= MAX_RECENTLY_DROPPED) {
      const oldest = this.recentlyDropped.keys().next().value
      if (oldest !== undefined) this.recentlyDropped.delete(oldest)
    }
    this.recentlyDropped.set(`${clientId}\u0000${counterKey}`, seq)
  }

  /** The sequence of a recently dropped message, forgotten as it is returned. */
  takeDropped (clientId: string, counterKey: string): number | undefined {
    if (this.recentlyDropped.size === 0) return undefined
    const key = `${clientId}\u0000${counterKey}`
    const seq = this.recentlyDropped.get(key)
    if (seq !== undefined) this.recentlyDropped.delete(key)
    return seq
  }

  /** A message of a client left the O range (acknowledged, PUBREL phase, dropped). */
  remove (clientId: string, seq: number): void {
    this.loading.get(clientId)?.add(seq)
    this.clients.get(clientId)?.remove(seq)
  }

  /** Forgets a client's figures (a wiped session); the next enqueue scans again. */
  forget (clientId: string): void {
    this.clients.delete(clientId)
  }

  /** Totals over the loaded clients (stats). */
  totals (): { clients: number, messages: number, bytes: number } {
    let messages = 0
    let bytes = 0
    for (const q of this.clients.values()) { messages += q.count; bytes += q.bytes }
    return { clients: this.clients.size, messages, bytes }
  }
}
