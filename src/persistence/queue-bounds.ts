// Per-client bounds of the offline queues (limits.maxQueuedMessages /
// maxQueuedBytes, Mosquitto's max_queued_messages / max_queued_bytes). A client
// that never comes back would otherwise fill the SD card one queued message at
// a time. Only the O records (messages still holding a payload) count; a
// message in its PUBREL phase holds 10 bytes and is bounded by the inflight
// window, not by this.
//
// The figures of a client are loaded by one range scan, the first time this
// process enqueues for it or by the count after start (countAll), then kept up
// to date by the outgoing store. They are always kept, caps or not: they also
// make the store-wide total (the edgemq_offline_queue_* gauges) and the
// per-user and per-group budgets (QueueShare) that several clients add to.
import type { StoreContext } from './store-context.ts'
import { clientPrefix, KIND, prefixRange, readSeqAtEnd } from './store-keys.ts'
import { SeqSizes } from './seq-sizes.ts'

// Dropped messages remembered for a late outgoingUpdate (all clients): the race
// lasts a setImmediate or one drain batch, so a few thousand is plenty.
const MAX_RECENTLY_DROPPED = 4096

/** Caps on one client's offline queue; 0 = no cap. */
export interface QueueBoundLimits {
  maxMessages: number
  maxBytes: number
  /** limits.queueFullPolicy refuse-new: a full queue refuses the new message instead of dropping its oldest. */
  refuseNew?: boolean
  /** Store-wide: messages queued over all clients (persistence.maxQueuedMessagesTotal); 0 = no cap. */
  maxTotalMessages?: number
}

/**
 * A figure several client queues add to: the store-wide total (the
 * edgemq_offline_queue_* gauges), or the budget of a user or group
 * (limits.maxQueuedMessagesPerUser, src/limits/queue-quotas.ts). Its caps
 * (0 = none) bound the sum over those queues the way a client's own caps bound
 * its queue. Kept exact by every add and remove of the queues that share it:
 * O(shares) per message, no allocation.
 */
export interface QueueShare {
  messages: number
  bytes: number
  maxMessages: number
  maxBytes: number
  /** Who it is, for log lines ("user alice", "group sensors"). */
  readonly name: string
}

/** The store-wide total's name (what was full when its cap dropped a message). */
const STORE = 'store'

/** The store-wide total; its cap is persistence.maxQueuedMessagesTotal (setLimits). */
export function createQueueTotal (): QueueShare {
  return { messages: 0, bytes: 0, maxMessages: 0, maxBytes: 0, name: STORE }
}

/** planDrops's answer when a message fits as it is. */
const FITS = Object.freeze({ drop: Object.freeze([]) as readonly number[], accept: true, full: '' })

/** The queued messages of one client, oldest first (in sequence order: a client's sequences only grow). */
export class ClientQueue {
  // sequence -> stored bytes; negative when the message has a packet id (sent,
  // awaiting PUBACK / PUBREC): never dropped while an older queued one can be.
  // 12 bytes per message outside the V8 heap (seq-sizes.ts); the store-wide
  // cap (maxTotalMessages) bounds how many are tracked.
  readonly items = new SeqSizes()
  bytes = 0

  /** `shares`: the figures this queue adds to (the store's total, its user's and groups' budgets). */
  constructor (public shares: readonly QueueShare[] = []) {}

  get count (): number { return this.items.size }

  /** Appends a message at the end of the queue. */
  add (seq: number, stored: number, inflight = false): void {
    const bytes = Math.max(1, stored) // 0 marks a hole in SeqSizes; a record is never empty, a damaged one may be
    const old = this.items.get(seq)
    if (old !== undefined) this.change(-1, -Math.abs(old))
    this.items.set(seq, inflight ? -bytes : bytes)
    this.change(1, bytes)
  }

  /** Forgets a message (acknowledged, moved to PUBREL, dropped). */
  remove (seq: number): void {
    const old = this.items.get(seq)
    if (old === undefined) return
    this.items.delete(seq)
    this.change(-1, -Math.abs(old))
  }

  /** Records a packet id given to a message, and its new stored size when it was rewritten. */
  markInflight (seq: number, bytes?: number): void {
    const old = this.items.get(seq)
    if (old === undefined) return
    const size = Math.max(1, bytes ?? Math.abs(old))
    this.items.set(seq, -size)
    this.change(0, size - Math.abs(old))
  }

  /** Moves this queue's figures to other shares (its user's groups changed at a reload). */
  moveTo (shares: readonly QueueShare[]): void {
    for (const s of this.shares) { s.messages -= this.count; s.bytes -= this.bytes }
    this.shares = shares
    for (const s of shares) { s.messages += this.count; s.bytes += this.bytes }
  }

  /** Takes this queue's figures out of its shares (its session is gone). */
  detach (): void {
    this.moveTo([])
  }

  private change (messages: number, bytes: number): void {
    this.bytes += bytes
    const shares = this.shares
    for (let i = 0; i < shares.length; i++) { shares[i].messages += messages; shares[i].bytes += bytes }
  }

  /**
   * Sequences to drop, oldest queued (not inflight) first, so a message of
   * `incoming` bytes fits this queue's caps and every capped share's;
   * `accept` false when it cannot fit without dropping an inflight one (then
   * the incoming message is the one dropped). `full` names what was full.
   */
  planDrops (incoming: number, limits: QueueBoundLimits): { drop: readonly number[], accept: boolean, full: string } {
    // the usual case, once per queued copy: it fits, nothing to plan
    if (!this.wouldOverflow(incoming, limits)) return FITS
    const { maxMessages, maxBytes } = limits
    if (maxBytes > 0 && incoming > maxBytes) return { drop: [], accept: false, full: 'client' }
    let count = this.items.size
    let bytes = this.bytes
    let droppedCount = 0
    let droppedBytes = 0
    const shares = this.shares
    const fullShare = (): QueueShare | undefined => {
      for (let i = 0; i < shares.length; i++) {
        const s = shares[i]
        if ((s.maxMessages > 0 && s.messages - droppedCount + 1 > s.maxMessages) || (s.maxBytes > 0 && s.bytes - droppedBytes + incoming > s.maxBytes)) return s
      }
      return undefined
    }
    const clientFull = (): boolean => (maxMessages > 0 && count + 1 > maxMessages) || (maxBytes > 0 && bytes + incoming > maxBytes)
    const over = (): string | undefined => clientFull() ? 'client' : fullShare()?.name
    const first = over()
    if (first === undefined) return { drop: [], accept: true, full: '' }
    for (let i = 0; i < shares.length; i++) if (shares[i].maxBytes > 0 && incoming > shares[i].maxBytes) return { drop: [], accept: false, full: shares[i].name }
    if (limits.refuseNew === true) return { drop: [], accept: false, full: first }
    const drop: number[] = []
    for (const [seq, v] of this.items.entries()) {
      if (v < 0) continue // inflight
      drop.push(seq)
      count--
      bytes -= v
      droppedCount++
      droppedBytes += v
      if (over() === undefined) return { drop, accept: true, full: first }
    }
    // only inflight messages left (or the share is full of other clients'
    // messages): they stay, the newcomer is the one dropped
    return { drop: [], accept: false, full: first }
  }

  /** Whether a message of `bytes` would not fit (this queue's caps or a capped share's), dropping nothing. */
  wouldOverflow (bytes: number, limits: QueueBoundLimits): boolean {
    const { maxMessages, maxBytes } = limits
    if ((maxMessages > 0 && this.count + 1 > maxMessages) || (maxBytes > 0 && this.bytes + bytes > maxBytes)) return true
    for (const s of this.shares) if ((s.maxMessages > 0 && s.messages + 1 > s.maxMessages) || (s.maxBytes > 0 && s.bytes + bytes > s.maxBytes)) return true
    return false
  }
}

/** The tracked clients of one store and the drop counter. */
export class QueueBounds {
  limits: QueueBoundLimits = { maxMessages: 0, maxBytes: 0 }
  /** Messages dropped from (or refused by) a full offline queue since the process started. */
  dropped = 0
  /** Of those, dropped because a user's or group's budget was full (limits.maxQueuedMessagesPerUser ...). */
  droppedByQuota = 0
  /** Messages and bytes queued over every tracked client: exact once `counted`. */
  readonly total = createQueueTotal()
  /** Whether every client holding a queue has been loaded (countAll): until then `total` is a lower bound. */
  counted = false
  /** The budgets (besides the store's total) a client's queue adds to: its user's and groups' (set by the limits part). */
  sharesOf: (clientId: string) => readonly QueueShare[] = () => []
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

  /** Changes the per-client caps (reload); figures are kept either way. */
  setLimits (limits: QueueBoundLimits): void {
    const maxTotalMessages = Math.max(0, Math.floor(limits.maxTotalMessages ?? 0))
    this.limits = { maxMessages: Math.max(0, Math.floor(limits.maxMessages)), maxBytes: Math.max(0, Math.floor(limits.maxBytes)), refuseNew: limits.refuseNew === true, maxTotalMessages }
    // the store's total is a share every client's queue adds to: its cap is checked as a user's budget is
    this.total.maxMessages = maxTotalMessages
  }

  /** Looks up every tracked client's budgets again (a reload changed users' groups or the group caps): figures move with them. */
  reshare (): void {
    for (const [clientId, q] of this.clients) q.moveTo([this.total, ...this.sharesOf(clientId)])
  }

  /** The figures of a client, when loaded. */
  get (clientId: string): ClientQueue | undefined {
    return this.clients.get(clientId)
  }

  /** Whether a message of `bytes` would not fit in the loaded queue of `clientId` (figures not loaded yet: it fits). */
  wouldOverflow (clientId: string, bytes: number): boolean {
    const q = this.clients.get(clientId)
    return q !== undefined && q.wouldOverflow(bytes, this.limits)
  }

  /** Whether a client still needs its load scan. */
  needsLoad (clientId: string): boolean {
    return !this.clients.has(clientId)
  }

  /**
   * Starts the figures of a client known to hold nothing on disk (not a queue
   * holder, outgoing-store.ts) as an empty queue, without a scan: every O
   * record it will have is added by an enqueue built from now on. Before,
   * each such client's first enqueue was a gated write (a batch boundary, a
   * LevelDB write and two iterators before anything after it could go): 500
   * new offline sessions cost 500 of them in the enqueue benchmark.
   */
  loadEmpty (clientId: string): void {
    if (this.clients.has(clientId) || this.loading.has(clientId)) return
    const q = new ClientQueue()
    q.moveTo([this.total, ...this.sharesOf(clientId)])
    this.clients.set(clientId, q)
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
      // fillCache false: only the sizes are wanted; the count after a restart
      // read every queued record into LevelDB's block cache (+5 MiB RSS with
      // 50k queued, issue 11). nextv: one promise per batch, not per record.
      const it = ctx.db.iterator({ ...prefixRange(clientPrefix(KIND.OUT, clientId)), fillCache: false })
      try {
        for (;;) {
          const batch = await it.nextv(256) as Array<[Buffer, Buffer]>
          if (batch.length === 0) break
          for (const [key, value] of batch) {
            const seq = readSeqAtEnd(key)
            q.add(seq, value.length, withState.has(seq))
          }
        }
      } finally {
        await it.close()
      }
      for (const seq of inflight()) q.markInflight(seq)
      for (const seq of removed) q.remove(seq)
      if (this.loading.get(clientId) === removed) {
        q.moveTo([this.total, ...this.sharesOf(clientId)]) // counted in the totals only now, once
        this.clients.set(clientId, q)
      }
    } finally {
      if (this.loading.get(clientId) === removed) this.loading.delete(clientId)
    }
  }

  /**
   * Counts `n` messages a full queue of `clientId` dropped (or refused) and
   * logs it, at most once per client every 10 s with the running count: a
   * dropped acknowledged message is never silent.
   */
  noteDropped (clientId: string, n: number, log: (msg: string, fields: Record<string, string | number>) => void, now = performance.now(), full = 'client'): void {
    this.dropped += n
    if (full !== 'client' && full !== STORE) this.droppedByQuota += n
    const total = (this.droppedBy.get(clientId) ?? 0) + n
    this.droppedBy.set(clientId, total)
    const last = this.loggedAt.get(clientId)
    if (last !== undefined && now - last < 10_000) return
    this.loggedAt.set(clientId, now)
    if (full === 'client') log('offline queue full: queued messages dropped', { client: clientId, droppedTotal: total, maxMessages: this.limits.maxMessages, maxBytes: this.limits.maxBytes })
    else if (full === STORE) log('offline queues full store-wide (persistence.maxQueuedMessagesTotal): queued messages dropped', { client: clientId, droppedTotal: total, maxMessagesTotal: this.total.maxMessages })
    else log('offline queue quota full: queued messages dropped', { client: clientId, quota: full, droppedTotal: total })
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

  /**
   * Forgets a client's figures (a wiped session: aedes clears what it still
   * holds right after, through clear()); the next enqueue scans again.
   */
  forget (clientId: string): void {
    this.clients.get(clientId)?.detach()
    this.clients.delete(clientId)
  }

  /** Clients whose figures are loaded. */
  get trackedClients (): number {
    return this.clients.size
  }
}
