// Per-client bounds of the offline queues (limits.maxQueuedMessages /
// maxQueuedBytes, Mosquitto's max_queued_messages / max_queued_bytes). A client
// that never comes back would otherwise fill the SD card one queued message at
// a time. Only the O records (messages still holding a payload) count; a
// message in its PUBREL phase holds 10 bytes and is bounded by the inflight
// window, not by this.
//
// The figures of a client are loaded lazily, by one range scan the first time
// this process enqueues for it, then kept up to date by the outgoing store.

/** Caps on one client's offline queue; 0 = no cap. */
export interface QueueBoundLimits {
  maxMessages: number
  maxBytes: number
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
  private readonly clients = new Map<string, ClientQueue>()
  // Sequences removed while a client's load scan runs: its snapshot may still hold them.
  private readonly loading = new Map<string, Set<number>>()

  /** Whether any cap is set (no cap: nothing is tracked, no cost on the publish path). */
  get enabled (): boolean {
    return this.limits.maxMessages > 0 || this.limits.maxBytes > 0
  }

  /** Changes the caps (reload); turning them off forgets every tracked figure. */
  setLimits (limits: QueueBoundLimits): void {
    this.limits = { maxMessages: Math.max(0, Math.floor(limits.maxMessages)), maxBytes: Math.max(0, Math.floor(limits.maxBytes)) }
    if (!this.enabled) { this.clients.clear(); this.loading.clear() }
  }

  /** The figures of a client, when loaded. */
  get (clientId: string): ClientQueue | undefined {
    return this.clients.get(clientId)
  }

  /** Whether a client still needs its load scan. */
  needsLoad (clientId: string): boolean {
    return this.enabled && !this.clients.has(clientId)
  }

  /** Marks the start of a client's load scan. */
  beginLoad (clientId: string): void {
    if (!this.loading.has(clientId)) this.loading.set(clientId, new Set())
  }

  /** Installs the scanned figures of a client, minus what was removed meanwhile. */
  endLoad (clientId: string, queue: ClientQueue | undefined): void {
    const removed = this.loading.get(clientId)
    this.loading.delete(clientId)
    if (queue === undefined || !this.enabled) return
    for (const seq of removed ?? []) queue.remove(seq)
    this.clients.set(clientId, queue)
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
