// Offline queues and outgoing inflight state. One O record per queued message
// (written once, never rewritten), plus a tiny U record once aedes gives it a
// packet id or moves it to the PUBREL phase: a 256-byte message is not
// rewritten just to remember its 2-byte packet id. Draining a queue is one
// range scan of O merged with the (short, inflight-bounded) U range.
//
// aedes finds queued messages again by (brokerId, brokerCounter) or by packet
// id. An in-memory index answers both for messages this process enqueued for
// a connected client or streamed out; anything else falls back to a scan of
// that one client's range (correct, only slower).
import type { Readable } from 'node:stream'
import { ClientIndex, counterKeyOf, entryOf, type Entry } from './client-index.ts'
import { decodeOutgoingState, decodePacket, encodeOutgoingState, encodePacket, type OutgoingState, type StoredPacket } from './record-codec.ts'
import { ClientQueue, QueueBounds } from './queue-bounds.ts'
import { QueueReader } from './queue-reader.ts'
import { endedStream, type BatchSource } from './read-guard.ts'
import type { StoreContext } from './store-context.ts'
import { clientPrefix, KIND, prefixRange, readClientId, readSeqAtEnd, seqKey } from './store-keys.ts'
import type { WriteOp } from './write-queue.ts'

// How long live deliveries wait for a reconnecting client's queue replay to
// start, or for its next step once started (the drain never came: the
// connection failed between its subscription restore and its queue replay;
// or the client stopped reading). Past it, order may slip; nothing is lost.
const DRAIN_IDLE_MAX_MS = 5_000

/**
 * The queue replay of a reconnecting persistent client. aedes restores the
 * client's subscriptions before it replays its queue, so a message published
 * in between went out live ahead of older queued ones ([MQTT-4.6.0-5] order
 * per topic broken; found by test/e2e/store-model.test.ts). Live deliveries
 * to the client wait in update() until this turn ends.
 */
interface DrainTurn {
  done: Promise<void>
  resolve: () => void
  started: boolean
  timer: NodeJS.Timeout
  /** Payload buffers of the packets the drain yielded: their update() is the drain's own. */
  payloads: WeakSet<object>
  /** Counter key -> packet id of messages the drain sent (a live copy waiting behind it is a resend). */
  sent: Map<string, number>
  /** Publishes the drain yielded, and how many of them aedes has given a packet id (it writes each right after). */
  yielded: number
  updated: number
  /** The drain has read its last record. */
  finished: boolean
}

/** Normalises a packet the way aedes-packet does before it is queued. */
export function normalizeQueued (packet: StoredPacket): StoredPacket {
  const out: StoredPacket = {}
  for (const key of ['clientId', 'nl', 'properties', 'messageExpiry']) {
    if (Object.prototype.hasOwnProperty.call(packet, key)) out[key] = packet[key]
  }
  out.cmd = packet.cmd || 'publish'
  out.brokerId = packet.brokerId || undefined
  out.brokerCounter = packet.brokerCounter || 0
  out.topic = packet.topic
  out.payload = packet.payload || Buffer.alloc(0)
  out.qos = packet.qos || 0
  out.retain = packet.retain || false
  out.dup = packet.dup || false
  // [MQTT-2.3.1-5] a queued QoS > 0 message gets its packet id when it is sent
  if ((out.qos as number) > 0 || out.cmd !== 'publish') out.messageId = undefined
  return out
}

/** What differs per client in one enqueue: RETAIN kept (Retain As Published), the QoS granted. */
export interface PerClient {
  keepRetain?: ReadonlySet<string>
  granted?: ReadonlyMap<string, number>
  /** Admitted under refuse-new (its publisher is acknowledged): a full queue takes it anyway, it is never the one dropped. */
  admitted?: boolean
}

/** The outgoing side of the persistence. */
export class OutgoingStore {
  private readonly ctx: StoreContext
  private readonly indexes = new Map<string, ClientIndex>()
  // Sequences acknowledged while a drain of that client is running: the drain's
  // LevelDB snapshot still holds them, and resending one that was delivered
  // live meanwhile would duplicate it (a QoS 2 duplicate after its PUBCOMP).
  private readonly clearedDuringDrain = new Map<string, Set<number>>()
  /** Whether a client is connected now (only those are indexed at enqueue time). */
  isOnline: (clientId: string) => boolean = () => false
  /** Per-client caps of the offline queues and the drop counter (queue-bounds.ts). */
  readonly bounds = new QueueBounds()
  /** Queue replays coming or running, per client (see DrainTurn). */
  private readonly drains = new Map<string, DrainTurn>()
  /** Per client, the last live delivery's update not yet resolved: the next one resolves after it (see update). */
  private readonly liveUpdates = new Map<string, Promise<void>>()

  /**
   * Clients that may have queued messages or delivery states on disk: loaded
   * at setup (one seek per client, not a read of every message) and added to
   * on every write of a queue key. A client not in it (every clean-session
   * device) connects without a LevelDB iterator: in a reconnect storm of 1,000
   * clients the two iterators per CONNECT were the largest transient memory
   * after the sockets themselves (issue 16). An id leaves it when a drain
   * scanned its ranges and found nothing (see drain): a device that once had
   * a persistent session and now connects clean pays for one empty scan, not
   * one per CONNECT (issue 10).
   */
  private holders: Set<string> | undefined
  /** Bumped by every addition to `holders`: a drain that found an empty queue forgets its holder only if none came meanwhile. */
  private holderAdds = 0
  /**
   * The clients that may hold delivery states (U keys: QoS 2 packet ids,
   * PUBREL phases, QoS 1 ids kept by a graceful close): loaded with `holders`,
   * added to when a U write is issued, never removed (a superset is safe). A
   * client not in it has no U record on disk nor one on its way, so its drain
   * reads one range (O) instead of two: in a reconnect of 500 sessions that is
   * 500 LevelDB iterators fewer.
   */
  private stateHolders: Set<string> | undefined

  constructor (ctx: StoreContext) {
    this.ctx = ctx
  }

  /** Loads the ids of clients holding queue keys (call once at setup, before clients connect). */
  async loadQueueHolders (): Promise<void> {
    const holders = new Set<string>()
    const stateHolders = new Set<string>()
    for (const kind of [KIND.OUT, KIND.OUT_STATE]) {
      const it = this.ctx.db.keys(prefixRange(Buffer.of(kind)))
      try {
        for (;;) {
          const key = await it.next()
          if (key === undefined) break
          const id = readClientId(key)
          holders.add(id)
          if (kind === KIND.OUT_STATE) stateHolders.add(id)
          const next = prefixRange(clientPrefix(kind, id))
          if (!('lt' in next)) break
          it.seek(next.lt) // skip the rest of this client's keys
        }
      } finally {
        await it.close()
      }
    }
    this.holders = holders
    this.stateHolders = stateHolders
  }

  /**
   * Loads the queue figures of every client that holds a queue (at setup,
   * before any client is served), for refuse-new: its decision is
   * synchronous, and a client whose figures were not loaded yet counted as
   * "fits", so after a restart a v5 publisher was acknowledged for a message
   * the full queue then dropped (found by the model-based test). One range
   * scan per client with a queue; drop-oldest needs none of this.
   */
  async loadAllBounds (): Promise<void> {
    const { maxMessages, maxBytes, refuseNew } = this.bounds.limits
    if (refuseNew !== true || (maxMessages === 0 && maxBytes === 0)) return
    // at setup nothing else writes yet: the scans need no place in the write queue
    for (const id of this.holders ?? []) if (this.bounds.needsLoad(id)) await this.bounds.load(this.ctx, id, () => this.inflightSeqs(id), this.mayHoldState(id))
  }

  /** Whether a client may have anything queued (true until loadQueueHolders ran). */
  mayHoldQueue (clientId: string): boolean {
    return this.holders === undefined || this.holders.has(clientId)
  }

  /** Whether a client may have delivery states (U records) stored or on their way (true until loadQueueHolders ran). */
  mayHoldState (clientId: string): boolean {
    return this.stateHolders === undefined || this.stateHolders.has(clientId)
  }

  /**
   * Queues one copy of `packet` per distinct client; `extraOps` join the same
   * atomic batch. A client whose queue is full loses its oldest queued message(s)
   * in that batch (queue-bounds.ts). Resolves once the batch has landed; the
   * write holds its place in the write queue from this call on (see
   * `queued`), so settled() covers it.
   */
  enqueue (clientIds: readonly string[], packet: StoredPacket, extraOps: readonly WriteOp[] = [], per: PerClient = {}, options: { lazy?: boolean } = {}): Promise<void> {
    // A client's figures (caps, totals, user budgets) must be loaded before its
    // batch can be built: the write takes its place in the queue now and is
    // built once its clients are loaded (writeAfter). While one such write
    // waits, every later enqueue queues behind it the same way, so each queue
    // keeps publish order.
    // A client that holds no queue key has nothing to scan: its figures start empty at once.
    for (const id of clientIds) if (!this.mayHoldQueue(id) && this.bounds.needsLoad(id)) this.bounds.loadEmpty(id)
    if (!this.ctx.queue.gated && !clientIds.some((id) => this.bounds.needsLoad(id))) {
      return this.ctx.queue.write(this.buildEnqueue(clientIds, packet, extraOps, per), { lazy: options.lazy })
    }
    return this.ctx.queue.writeAfter(async () => {
      const missing = [...new Set(clientIds)].filter((id) => this.bounds.needsLoad(id))
      await Promise.all(missing.map(async (id) => { await this.bounds.load(this.ctx, id, () => this.inflightSeqs(id), this.mayHoldState(id)) }))
    }, () => this.buildEnqueue(clientIds, packet, extraOps, per))
  }

  // packet ids aedes gave in this process are in the index only (QoS 1 ids are not stored)
  private inflightSeqs (clientId: string): number[] {
    return [...this.indexes.get(clientId)?.byMessageId.values() ?? []].map((e) => e.seq)
  }

  /**
   * Loads the figures of every client holding a queue that no enqueue has
   * loaded yet, so that bounds.total is exact (bounds.counted) from then on.
   * Run after the broker is ready, not during setup: it reads every queued
   * record (100k messages of 100 bytes: 0.56 s over 100 clients, 1.07 s over
   * 1,000, +2.6 / +3.7 MiB of heap; x64, shared machine, noisy) and the
   * restart must not wait for it (issue 11). Each step is a gated write of
   * `chunk` clients, like the load of an enqueue: what landed before it is in
   * its scan, what comes after waits for it (one step's scan, ~20 ms for
   * 1,600 messages) and is counted by its own add or remove.
   */
  async countQueued (chunk = 16): Promise<void> {
    if (this.holders === undefined) return
    const ids = [...this.holders].filter((id) => this.bounds.needsLoad(id))
    for (let i = 0; i < ids.length; i += chunk) {
      const part = ids.slice(i, i + chunk)
      await this.ctx.queue.writeAfter(async () => {
        for (const id of part) if (this.bounds.needsLoad(id)) await this.bounds.load(this.ctx, id, () => this.inflightSeqs(id), this.mayHoldState(id))
      }, () => [])
    }
    this.bounds.counted = true
  }

  /** Sets the per-client caps of the offline queues (0 = no cap); takes effect at the next enqueue. */
  setQueueLimits (limits: { maxMessages: number, maxBytes: number, maxTotalMessages?: number, refuseNew?: boolean }): void {
    this.bounds.setLimits(limits)
  }

  // The batch of an enqueue; called right before it joins the write queue.
  private buildEnqueue (clientIds: readonly string[], packet: StoredPacket, extraOps: readonly WriteOp[], per: PerClient): WriteOp[] {
    const ops: WriteOp[] = [...extraOps]
    if (clientIds.length > 0) {
      const published = normalizeQueued(packet)
      const publishedValue = this.ctx.seal(encodePacket(published))
      // [MQTT-3.3.1-9] [MQTT-3.3.1-12] a message sent because it matches a
      // subscription goes with RETAIN 0 unless that subscription asked for
      // Retain As Published; aedes clears it for live deliveries only, and the
      // queued copy of a retained message reached a returning subscriber with
      // RETAIN 1 (found by the model-based test). [MQTT-3.8.4-6] [MQTT-3.3.5-1]
      // likewise the QoS: min(publish QoS, granted QoS); aedes lowers it for
      // live deliveries only, a queued copy went out at the publish QoS.
      let variants: Map<string, { norm: StoredPacket, value: Buffer }> | undefined
      const ck = counterKeyOf(published)
      for (const clientId of clientIds.length === 1 ? clientIds : new Set(clientIds)) {
        let norm = published
        let value = publishedValue
        const retain = published.retain === true && per.keepRetain?.has(clientId) !== true ? false : published.retain
        const qos = Math.min(published.qos as number, per.granted?.get(clientId) ?? 2)
        if (qos === 0) continue // an offline queue holds QoS 1/2 only: QoS 0 to a client away may be lost
        if (retain !== published.retain || qos !== published.qos) {
          const key = `${String(retain)} ${qos}`
          let v = (variants ??= new Map()).get(key)
          if (v === undefined) { const c = { ...published, retain, qos }; v = { norm: c, value: this.ctx.seal(encodePacket(c)) }; variants.set(key, v) }
          norm = v.norm
          value = v.value
        }
        const q = this.bounds.get(clientId)
        if (q !== undefined && !this.makeRoom(clientId, q, value.length, ops, per.admitted === true)) continue
        const seq = this.ctx.allocSeq()
        this.addHolder(clientId)
        // a new sequence number: the key never existed, so an acknowledgement in the same batch cancels both (write-queue.ts)
        ops.push({ type: 'put', key: seqKey(clientPrefix(KIND.OUT, clientId), seq), value, fresh: true })
        q?.add(seq, value.length)
        if (this.isOnline(clientId)) this.index(clientId).add({ seq, packet: norm, counterKey: ck, stateStored: false })
      }
    }
    return ops
  }

  /** Drops the oldest queued messages of a full queue (ops join the enqueue batch); false: drop the new one. */
  private makeRoom (clientId: string, q: ClientQueue, bytes: number, ops: WriteOp[], admitted: boolean): boolean {
    // A connected client gets its messages now whatever this store does (aedes
    // delivers each once its enqueue resolves): a message dropped here was
    // still sent, its outgoingUpdate failed and aedes closed the subscriber,
    // or it was restored late and went out after newer ones (both found by
    // the model-based test). The cap bounds what waits for a client that is
    // away; a connected one is bounded by its inflight window.
    if (this.isOnline(clientId)) return true
    const plan = q.planDrops(bytes, this.bounds.limits)
    // refuse-new decided before the PUBACK that it fits (LevelPersistence.queueFull): what changed since does not undo that
    if (!plan.accept && admitted && this.bounds.limits.refuseNew === true) return true
    if (!plan.accept) {
      this.bounds.noteDropped(clientId, 1, (m, f) => { this.ctx.logger.warn(m, f) }, undefined, plan.full)
      return false
    }
    if (plan.drop.length === 0) return true
    const idx = this.indexes.get(clientId)
    const dropped = new Set(plan.drop)
    if (idx !== undefined) {
      // only indexed messages can be on their way to the client (live or drained)
      for (const entry of idx.byCounter.values()) {
        if (!dropped.has(entry.seq)) continue
        idx.drop(entry)
        if (entry.counterKey !== undefined) this.bounds.rememberDropped(clientId, entry.counterKey, entry.seq)
      }
      for (const entry of idx.byMessageId.values()) if (dropped.has(entry.seq)) idx.drop(entry)
    }
    const draining = this.clearedDuringDrain.get(clientId)
    for (const seq of plan.drop) {
      // a running drain's snapshot still holds it: the drain skips it like an acknowledged one
      draining?.add(seq)
      this.bounds.remove(clientId, seq)
      ops.push({ type: 'del', key: seqKey(clientPrefix(KIND.OUT, clientId), seq) })
      ops.push({ type: 'del', key: seqKey(clientPrefix(KIND.OUT_STATE, clientId), seq) })
    }
    this.bounds.noteDropped(clientId, plan.drop.length, (m, f) => { this.ctx.logger.warn(m, f) }, undefined, plan.full)
    return true
  }

  /**
   * aedes gave a packet id to a message dropped a moment ago: it is being sent,
   * so it is inflight after all and is stored again (O and U) at its old place.
   */
  private async restore (clientId: string, seq: number, packet: StoredPacket): Promise<void> {
    const norm = normalizeQueued(packet)
    const messageId = packet.messageId as number
    this.index(clientId).add({ seq, packet: norm, pubrel: false, counterKey: counterKeyOf(norm), messageId, stateStored: true })
    const value = this.ctx.seal(encodePacket(norm))
    this.bounds.get(clientId)?.add(seq, value.length, true)
    await this.ctx.queue.write([
      { type: 'put', key: seqKey(clientPrefix(KIND.OUT, clientId), seq), value },
      this.statePut(clientId, seq, { pubrel: false, messageId })
    ])
  }

  /**
   * A persistent client is reconnecting (aedes reads its subscriptions first):
   * its queue replay is coming, and live deliveries to it wait behind it.
   */
  expectDrain (clientId: string): void {
    const turn = this.drains.get(clientId)
    if (turn === undefined || turn.started) this.drains.set(clientId, this.newTurn(clientId))
  }

  /**
   * Resolves once the client's coming or running queue replay has ended (its
   * packets written); undefined when none. What aedes sends without the
   * queue's update (a retained copy on SUBSCRIBE) waits on it to stay behind
   * the older messages the replay sends (src/engine/order-retained-on-subscribe.ts).
   */
  replayDone (clientId: string): Promise<void> | undefined {
    return this.drains.get(clientId)?.done
  }

  private newTurn (clientId: string): DrainTurn {
    let resolve!: () => void
    const done = new Promise<void>((r) => { resolve = r })
    const turn: DrainTurn = { done, resolve, started: false, timer: undefined as unknown as NodeJS.Timeout, payloads: new WeakSet(), sent: new Map(), yielded: 0, updated: 0, finished: false }
    turn.timer = setTimeout(() => { this.endTurn(clientId, turn) }, DRAIN_IDLE_MAX_MS)
    turn.timer.unref()
    return turn
  }

  // aedes writes a drained packet right after its update() resolves: the live
  // deliveries waiting behind the drain go once the last one is written (the
  // next turn of the event loop), not when the drain has merely read it.
  private endTurnWhenSent (clientId: string, turn: DrainTurn): void {
    if (turn.finished && turn.updated >= turn.yielded) setImmediate(() => { this.endTurn(clientId, turn) })
  }

  private endTurn (clientId: string, turn: DrainTurn): void {
    clearTimeout(turn.timer)
    if (this.drains.get(clientId) === turn) this.drains.delete(clientId)
    turn.resolve()
  }

  /**
   * A live delivery (not one of the drain's own packets) to a client whose
   * queue replay is coming or running waits until it has ended. Returns true
   * when the drain already sent this message: the live copy is then not sent
   * (ALREADY_DELIVERED); where nothing drops it, it goes out as a resend of
   * the same packet id with DUP=1 [MQTT-3.3.1-1].
   */
  private async waitForDrain (turn: DrainTurn, packet: StoredPacket, ck: string | undefined): Promise<boolean> {
    await turn.done
    const sentAs = ck === undefined ? undefined : turn.sent.get(ck)
    if (sentAs === undefined) return false
    packet.messageId = sentAs
    packet.dup = true
    return true
  }

  /** The queue replay a live delivery must wait for (none for the replay's own packets). */
  private drainAhead (clientId: string, packet: StoredPacket): DrainTurn | undefined {
    const turn = this.drains.get(clientId)
    return turn === undefined || replayedBy(turn, packet) ? undefined : turn
  }

  /**
   * Records the packet id given to a queued message, or its move to PUBREL.
   * aedes writes a live delivery to a persistent client once its update
   * resolves, so the updates of one client's live deliveries resolve in the
   * order they were asked for [MQTT-4.6.0-5] (5.0) [MQTT-4.6.0-6] (3.1.1).
   * Some wait (for an enqueue still waiting for its queue figures, a scan, the
   * packet ids stored by an earlier run) and others do not: a later message
   * then reached the subscriber first (found by the model-based test: a v5
   * subscriber's QoS 1 messages 36 then 35 after a re-SUBSCRIBE under
   * refuse-new). The queue replay's own packets (handed over one at a time)
   * and PUBRELs are not held behind them: a live delivery can wait for the
   * replay, which must not wait for it.
   */
  update (clientId: string, packet: StoredPacket): Promise<void> {
    if (packet.cmd === 'pubrel') return this.record(clientId, packet)
    const turn = this.drains.get(clientId)
    if (turn !== undefined && replayedBy(turn, packet)) return this.record(clientId, packet)
    const before = this.liveUpdates.get(clientId)
    const run = this.record(clientId, packet)
    const done = before === undefined ? run : run.then(() => before.then(noop, noop))
    this.liveUpdates.set(clientId, done)
    const forget = (): void => { if (this.liveUpdates.get(clientId) === done) this.liveUpdates.delete(clientId) }
    done.then(forget, forget)
    return done
  }

  private async record (clientId: string, packet: StoredPacket): Promise<void> {
    const idx = this.index(clientId)
    const ck = packet.cmd === 'pubrel' ? undefined : counterKeyOf(packet)
    if (packet.cmd !== 'pubrel' && this.drains.size > 0) {
      // the replay's own packets (the common case in a drain) go on without a wait
      const ahead = this.drainAhead(clientId, packet)
      if (ahead !== undefined && await this.waitForDrain(ahead, packet, ck)) { markDelivered(packet); return }
    }
    let messageId = packet.messageId as number
    if (packet.cmd !== 'pubrel') {
      const turn = this.drains.get(clientId)
      if (ck !== undefined && turn !== undefined && turn.started && replayedBy(turn, packet)) {
        turn.sent.set(ck, messageId)
        turn.updated++
        turn.timer.refresh()
        this.endTurnWhenSent(clientId, turn)
      }
      // An enqueue waiting for its client's queue figures (first enqueue of
      // that client in this process) indexes the message only once its batch
      // is built, and aedes delivers a journaled message live without waiting
      // for its enqueue: let what is in the write queue settle before looking
      // it up, or the lookup misses and aedes closes the subscriber ("no such packet").
      if (ck !== undefined && this.ctx.queue.gated && !idx.byCounter.has(ck)) await this.ctx.queue.settled()
      if (ck !== undefined) {
        const dropped = idx.byCounter.has(ck) ? undefined : this.bounds.takeDropped(clientId, ck)
        if (dropped !== undefined) { await this.restore(clientId, dropped, packet); return }
        let entry = idx.byCounter.get(ck) ?? await this.scan(clientId, (e) => e.counterKey === ck)
        if (entry === undefined) {
          // Not queued for this client, or not any more: let an enqueue still in
          // the write queue land and look once more (an enqueue for a client
          // not connected at that moment is not indexed).
          await this.ctx.queue.settled()
          entry = idx.byCounter.get(ck) ?? await this.scan(clientId, (e) => e.counterKey === ck)
        }
        if (entry === undefined || entry.pubrel === true) {
          // A live copy of a message the client already has: the queue replay
          // sent it and the client acknowledged it (PUBCOMP/PUBACK removed it)
          // or moved it to PUBREL. Sending it again, under any packet id, is a
          // second delivery to the application: a receiver that has completed
          // a QoS 2 flow treats the same id as a new message [MQTT-4.3.3-9], and
          // after PUBREC the sender must not send that PUBLISH again [MQTT-4.3.3-5].
          // (Before, this threw 'no such packet' and aedes closed the client, or
          // gave the PUBREL-phase message a new id and sent it again.)
          markDelivered(packet)
          return
        }
        if (entry.messageId !== undefined && entry.messageId !== messageId && idx.byMessageId.get(entry.messageId) === entry) {
          // One message, one delivery: a copy already sent under its own id (the
          // queue replay and a live delivery racing) is not sent again. Where no
          // engine drops it (plain aedes), it goes out as a resend of that id
          // with DUP=1, which a receiver still holding it deduplicates [MQTT-3.3.1-1].
          packet.messageId = entry.messageId
          packet.dup = true
          markDelivered(packet)
          return
        }
        // aedes numbers packet ids per connection from 1, whatever the
        // session still has in flight (ids kept across a reconnect or a
        // restart): an id another inflight message of this client holds is
        // replaced by a free one [MQTT-2.2.1-3]. Two QoS 2 messages under
        // one id reach the receiver as one, or one twice. The stored ones are
        // read first when no queue replay of this process has (a live
        // delivery let go before the replay started).
        if (!idx.storedIdsKnown && entry.messageId !== messageId) await this.knowStoredIds(clientId, idx)
        const holder = idx.byMessageId.get(messageId)
        if (holder !== undefined && holder !== entry) {
          messageId = freePacketId(idx, messageId)
          packet.messageId = messageId
        }
        if (entry.messageId !== undefined && idx.byMessageId.get(entry.messageId) === entry) idx.byMessageId.delete(entry.messageId)
        entry.messageId = messageId
        idx.add(entry)
        this.bounds.get(clientId)?.markInflight(entry.seq)
        // A QoS 1 packet id is kept in memory only: after a crash the message is
        // resent under a new id, which QoS 1 (at least once) tolerates. It saves
        // a write and a delete per delivered message. QoS 2 ids are what the
        // receiver deduplicates on, so they are stored.
        if (packet.qos === 1 && entry.stateStored !== true) return
        entry.stateStored = true
        await this.ctx.queue.write([this.statePut(clientId, entry.seq, { pubrel: false, messageId })])
        return
      }
    }
    const entry = idx.byMessageId.get(messageId) ?? await this.scan(clientId, (e) => e.messageId === messageId)
    if (entry === undefined && packet.cmd === 'pubrel') {
      // A QoS 2 message aedes sent without storing it reached its PUBREL phase:
      // a retained message on SUBSCRIBE (aedes skips outgoingUpdate for RETAIN
      // 1). Failing here made aedes close a persistent subscriber that answered
      // it with PUBREC (found by the model-based test); the phase is recorded
      // instead, so the PUBREL is resent after a reconnect [MQTT-4.4.0-1].
      const released: Entry = { seq: this.ctx.allocSeq(), pubrel: true, messageId, stateStored: true }
      idx.add(released)
      await this.ctx.queue.write([this.statePut(clientId, released.seq, { pubrel: true, messageId })])
      return
    }
    if (entry === undefined) throw new Error('no such packet')
    const out = clientPrefix(KIND.OUT, clientId)
    if (packet.cmd === 'pubrel') {
      // a running replay's snapshot still holds its PUBLISH: the replay skips
      // it (after PUBREC the PUBLISH is never sent again [MQTT-4.3.3-5])
      this.clearedDuringDrain.get(clientId)?.add(entry.seq)
      // the payload is no longer needed once PUBREL is the state to resend
      idx.drop(entry)
      entry.pubrel = true
      entry.packet = undefined
      entry.counterKey = undefined
      entry.messageId = messageId
      entry.stateStored = true
      idx.add(entry)
      this.bounds.remove(clientId, entry.seq)
      await this.ctx.queue.write([{ type: 'del', key: seqKey(out, entry.seq) }, this.statePut(clientId, entry.seq, { pubrel: true, messageId })])
      return
    }
    const norm = normalizeQueued(packet)
    idx.drop(entry)
    entry.packet = norm
    entry.pubrel = false
    entry.counterKey = counterKeyOf(norm)
    entry.messageId = messageId
    entry.stateStored = true
    idx.add(entry)
    const value = this.ctx.seal(encodePacket(norm))
    this.bounds.get(clientId)?.markInflight(entry.seq, value.length)
    await this.ctx.queue.write([
      { type: 'put', key: seqKey(out, entry.seq), value },
      this.statePut(clientId, entry.seq, { pubrel: false, messageId })
    ])
  }

  /**
   * Removes the message with this packet id (PUBACK / PUBCOMP); returns it.
   * `indexOnly` (the client's session is clean): everything of the client in
   * the store went through this process's index (aedes sends a clean client's
   * live QoS 1/2 deliveries without storing them, and streams what an earlier
   * session left through its queue replay, which indexes it), so a miss is a live
   * delivery and needs no range scan. The scan (two LevelDB iterators per
   * PUBACK) was ~60 % of the broker's CPU in fan-in QoS 1 (docs/performance.md).
   */
  async clear (clientId: string, packet: StoredPacket | undefined, indexOnly = false): Promise<StoredPacket | undefined> {
    if (packet === null || typeof packet !== 'object') return undefined
    if (indexOnly && !this.indexes.has(clientId)) return undefined
    const idx = this.index(clientId)
    const messageId = packet.messageId
    let entry: Entry | undefined
    if (typeof messageId === 'number') {
      entry = idx.byMessageId.get(messageId) ?? (indexOnly ? undefined : await this.scan(clientId, (e) => e.messageId === messageId))
    } else {
      // aedes clears a message it decided not to forward by the packet itself
      const ck = counterKeyOf(packet)
      if (ck === undefined) return undefined
      // only a message not yet sent: one in flight is cleared by its own acknowledgement
      const known = idx.byCounter.get(ck)
      entry = known !== undefined ? (known.messageId === undefined ? known : undefined) : indexOnly ? undefined : await this.scan(clientId, (e) => e.counterKey === ck && e.messageId === undefined)
    }
    if (entry === undefined) return undefined
    idx.drop(entry)
    this.clearedDuringDrain.get(clientId)?.add(entry.seq)
    let result: StoredPacket | undefined
    if (entry.pubrel === true) {
      result = { cmd: 'pubrel', messageId: entry.messageId }
    } else {
      let stored = entry.packet
      if (stored === undefined) {
        const key = seqKey(clientPrefix(KIND.OUT, clientId), entry.seq)
        const raw = await this.ctx.db.get(key)
        stored = raw === undefined ? undefined : this.ctx.decodeOrQuarantine(key, raw, decodePacket)
      }
      result = stored === undefined ? undefined : { ...stored, messageId: entry.messageId }
    }
    const ops: WriteOp[] = [{ type: 'del', key: seqKey(clientPrefix(KIND.OUT, clientId), entry.seq) }]
    if (entry.stateStored !== false) ops.push({ type: 'del', key: seqKey(clientPrefix(KIND.OUT_STATE, clientId), entry.seq) })
    this.bounds.remove(clientId, entry.seq)
    await this.ctx.queue.write(ops)
    return result
  }

  /** The client's queue in order (PUBRELs and publishes), as aedes resends it on reconnect. */
  /**
   * Whether stream(clientId) would yield nothing now: no drain turn, no queue
   * key ever held, no enqueue waiting for its ops. The engine then skips the
   * stream altogether (src/engine/clean-start-connect.ts).
   */
  isEmpty (clientId: string): boolean {
    return !this.drains.has(clientId) && !this.mayHoldQueue(clientId) && !this.ctx.queue.gated
  }

  stream (clientId: string): Readable {
    // Only a reconnect that aedes announced (expectDrain) holds live deliveries.
    // aedes asks on every CONNECT. A client that never held a queue key, with
    // no enqueue waiting for its ops (a gated write adds its holders only when
    // built), has nothing to drain: an ended stream, not an async generator
    // that waits for the write queue (the common clean-session CONNECT).
    if (this.isEmpty(clientId)) return endedStream()
    const turn = this.startTurn(clientId)
    if (turn === undefined) return this.ctx.reads.batches(this.replay(clientId, undefined))
    const stream = this.ctx.reads.batches(this.replay(clientId, turn))
    // failed or destroyed before it was all read: live deliveries go on
    stream.once('close', () => { if (!stream.readableEnded) this.endTurn(clientId, turn) })
    return stream
  }

  /**
   * The same replay as stream(), handed to `each` one packet at a time instead
   * of through a stream (ReadGuard.drive): the engine writes each to the
   * socket itself (src/engine/direct-queue-replay.ts). Resolves once every
   * packet was handed over and `each` has finished with it (or the store
   * closed); rejects when a read fails or `each` throws.
   */
  async replayInto (clientId: string, each: (packet: StoredPacket) => Promise<void> | undefined): Promise<void> {
    if (this.isEmpty(clientId)) return
    const turn = this.startTurn(clientId)
    if (turn === undefined) { await this.ctx.reads.drive(this.replay(clientId, undefined), each); return }
    let complete = false
    try {
      complete = await this.ctx.reads.drive(this.replay(clientId, turn), each)
    } finally {
      // failed, stopped or cut short by the store's close: live deliveries go on
      if (!complete) this.endTurn(clientId, turn)
    }
  }

  /** The coming queue replay of the client's reconnect, now started; undefined when none is coming (no turn, or started already). */
  private startTurn (clientId: string): DrainTurn | undefined {
    const turn = this.drains.get(clientId)
    if (turn === undefined || turn.started) return undefined
    turn.started = true
    turn.timer.refresh()
    return turn
  }

  /**
   * The queue replay of one reconnect, for ReadGuard.batches: one LevelDB
   * read per 256 records, each batch decoded at once; what was acknowledged
   * or dropped since its read is skipped right before it is handed to aedes.
   */
  private replay (clientId: string, turn: DrainTurn | undefined): BatchSource<StoredPacket> {
    let reader: QueueReader | undefined
    let cleared: Set<number> | undefined
    let addsBefore = 0
    let found = 0
    return {
      open: async () => {
        // A message acknowledged to its publisher may still be on its way into the
        // queue (an enqueue waiting for queue figures, or in the write queue):
        // let it land, or a client that reconnects at once would not get it
        // until its next reconnect.
        await this.ctx.queue.settled()
        cleared = this.clearedDuringDrain.get(clientId) ?? new Set<number>()
        this.clearedDuringDrain.set(clientId, cleared)
        addsBefore = this.holderAdds
        // a client with nothing queued reads nothing; its turn still ends at close
        if (!this.mayHoldQueue(clientId)) return
        reader = new QueueReader(this.ctx, clientId, this.index(clientId), this.mayHoldState(clientId))
        await reader.open()
      },
      next: async () => {
        const batch = reader === undefined ? undefined : await reader.next()
        if (batch !== undefined) found += batch.length
        return batch
      },
      take: (packet) => {
        const entry = entryOf(packet)
        if (entry !== undefined && cleared?.has(entry.seq) === true) return false
        const payload = packet.payload
        if (turn !== undefined && typeof payload === 'object' && payload !== null && packet.cmd !== 'pubrel') { turn.payloads.add(payload); turn.yielded++ }
        return true
      },
      close: async (complete) => {
        try {
          await reader?.close()
          // Scanned to the end and empty (a clean session's reconnect cleared what
          // an earlier session left): its next CONNECTs read nothing. Only when no
          // queue key was added since the scan began, for anyone (a write built
          // meanwhile may be this client's).
          if (complete && found === 0 && this.holderAdds === addsBefore) this.holders?.delete(clientId)
        } finally {
          if (cleared !== undefined && this.clearedDuringDrain.get(clientId) === cleared) this.clearedDuringDrain.delete(clientId)
          if (turn !== undefined) {
            turn.finished = true
            this.endTurnWhenSent(clientId, turn)
          }
        }
      }
    }
  }

  /**
   * Stores the packet ids of QoS 1 messages sent and not yet acknowledged
   * (kept in memory only while running, see update()), so that after a
   * graceful restart they are resent with their packet id and DUP=1
   * [MQTT-3.3.1-1] [MQTT-4.4.0-1] instead of as new messages. Called by
   * close(); a kill -9 loses these ids (the message is then resent without
   * DUP: at least once still holds). Found by the model-based test.
   */
  persistInflight (): Promise<void> {
    const ops: WriteOp[] = []
    for (const [clientId, idx] of this.indexes) {
      for (const entry of idx.byMessageId.values()) {
        if (entry.stateStored !== false || entry.pubrel === true || entry.messageId === undefined) continue
        entry.stateStored = true
        ops.push(this.statePut(clientId, entry.seq, { pubrel: false, messageId: entry.messageId }))
      }
    }
    return this.ctx.queue.write(ops)
  }

  /**
   * Forgets a client's in-memory index when it holds nothing (a session that
   * ended with nothing in flight). Without this, every client id that ever
   * connected kept an empty index: mosquitto_pub's random ids grew the heap by
   * ~6 MiB per 10,000 connects (issue 15's churn test).
   */
  forgetIfEmpty (clientId: string): void {
    const idx = this.indexes.get(clientId)
    if (idx !== undefined && idx.byCounter.size === 0 && idx.byMessageId.size === 0 && !this.drains.has(clientId)) this.indexes.delete(clientId)
  }

  /** Forgets the in-memory index of a client (tests; a wiped session). */
  forget (clientId: string): void {
    this.indexes.delete(clientId)
    this.bounds.forget(clientId)
  }

  private addHolder (clientId: string): void {
    this.holders?.add(clientId)
    this.holderAdds++
  }

  private statePut (clientId: string, seq: number, state: OutgoingState): WriteOp {
    this.addHolder(clientId)
    this.stateHolders?.add(clientId)
    return { type: 'put', key: seqKey(clientPrefix(KIND.OUT_STATE, clientId), seq), value: this.ctx.seal(encodeOutgoingState(state)) }
  }

  private index (clientId: string): ClientIndex {
    let idx = this.indexes.get(clientId)
    if (idx === undefined) {
      idx = new ClientIndex()
      this.indexes.set(clientId, idx)
    }
    return idx
  }

  /** Indexes the packet ids the client's stored messages hold (the U range), once per process. */
  private knowStoredIds (clientId: string, idx: ClientIndex): Promise<void> {
    idx.storedIdsLoading ??= this.readStoredIds(clientId, idx).finally(() => { idx.storedIdsLoading = undefined })
    return idx.storedIdsLoading
  }

  private async readStoredIds (clientId: string, idx: ClientIndex): Promise<void> {
    if (this.mayHoldQueue(clientId)) {
      for await (const [key, value] of this.ctx.db.iterator(prefixRange(clientPrefix(KIND.OUT_STATE, clientId)))) {
        const state = this.ctx.decodeOrQuarantine(key, value, decodeOutgoingState)
        if (state === undefined || idx.byMessageId.has(state.messageId)) continue
        idx.byMessageId.set(state.messageId, { seq: readSeqAtEnd(key), pubrel: state.pubrel, messageId: state.messageId, stateStored: true })
      }
    }
    idx.storedIdsKnown = true
  }

  private async scan (clientId: string, test: (e: Entry) => boolean): Promise<Entry | undefined> {
    const reader = new QueueReader(this.ctx, clientId, undefined, this.mayHoldState(clientId))
    try {
      await reader.open()
      for (;;) {
        const batch = await reader.next()
        if (batch === undefined) return undefined
        for (const packet of batch) {
          const entry = entryOf(packet)
          if (entry !== undefined && test(entry)) {
            this.index(clientId).add(entry)
            return entry
          }
        }
      }
    } finally {
      await reader.close()
    }
  }
}

/**
 * Set on a packet aedes is about to send to a client that already has that
 * message (outgoingUpdate found a live copy of a message the queue replay
 * delivered): the engine drops it unwritten (src/engine/drop-delivered-copies.ts).
 */
export const ALREADY_DELIVERED = Symbol.for('edgemq.alreadyDelivered')

function markDelivered (packet: StoredPacket): void {
  (packet as { [ALREADY_DELIVERED]?: boolean })[ALREADY_DELIVERED] = true
}

/** The next packet id after `from` (1..65535, wrapping) that no indexed message of the client holds. */
function freePacketId (idx: ClientIndex, from: number): number {
  let id = from
  for (let i = 0; i < 65535; i++) {
    id = id >= 65535 ? 1 : id + 1
    if (!idx.byMessageId.has(id)) return id
  }
  return from // 65,535 messages in flight: the receive maximum never allows it
}

function noop (): void {}

/** Whether `packet` is one that `turn`'s queue replay handed over (its payload is the replay's). */
function replayedBy (turn: DrainTurn, packet: StoredPacket): boolean {
  const payload = packet.payload
  return typeof payload === 'object' && payload !== null && turn.payloads.has(payload)
}
