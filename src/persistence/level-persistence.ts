// edgemq's aedes persistence on one LevelDB (classic-level): subscriptions,
// sessions, offline queues, inflight QoS 1/2 state, retained messages, wills,
// and the incoming journal that makes a PUBACK mean "stored" (incoming-journal.ts).
// It implements the async persistence interface of aedes 2.0.0-beta.1
// (aedes-persistence/asyncPersistence.js) and passes that package's contract suite.
import { Readable } from 'node:stream'
import type { Logger } from '../observability/logger.ts'
import { silentLogger } from '../observability/logger.ts'
import { IncomingJournal, normalizeIncoming, type JournalTicket, type Republisher } from './incoming-journal.ts'
import { countReads, type LevelReads } from './counted-level.ts'
import { createRootLevel, openStore, type OpenOutcome, type RootLevel } from './open-store.ts'
import { OutgoingStore, type PerClient } from './outgoing-store.ts'
import { endedStream } from './read-guard.ts'
import { RetainedLevels } from './retained-levels.ts'
import type { QueueShare } from './queue-bounds.ts'
import { decodePacket, decodeSubscription, encodePacket, encodeSubscription, isRoutablePublish, type StoredPacket, type SubscriptionRecord } from './record-codec.ts'
import { StoreContext, type ValueCipher } from './store-context.ts'
import { clientPrefix, incomingKey, KIND, KIND_NAMES, metaKey, parseSubKey, prefixRange, readClientId, retainedKey, sessionKey, subKey, willKey } from './store-keys.ts'
import { SubscriptionTable, type SubscriptionInput, type TopicSubscription } from './subscription-table.ts'
import { coveringPrefixes, topicMatches } from './topic-filter.ts'
import { WriteQueue, type SyncMode, type WriteOp } from './write-queue.ts'

// What an enqueue with nothing left to wait for returns (one promise for all).
const LANDED: Promise<void> = Promise.resolve()

/** Options of createLevelPersistence (the persistence.* config section). */
export interface LevelPersistenceOptions {
  path: string
  sync: SyncMode
  /** ms between fsyncs in batch mode. */
  syncInterval: number
  /** LevelDB block cache, bytes. */
  cacheSize: number
  /** LevelDB memtable size, bytes. */
  writeBufferSize: number
  logger?: Logger
  valueCipher?: ValueCipher
  /** Per-client caps of the offline queues (limits.maxQueuedMessages / maxQueuedBytes); 0 or absent = no cap. */
  maxQueuedMessages?: number
  maxQueuedBytes?: number
  /** Store-wide cap on queued messages over all clients (persistence.maxQueuedMessagesTotal); 0 or absent = no cap. */
  maxQueuedMessagesTotal?: number
  /** limits.queueFullPolicy refuse-new: a full queue refuses new messages instead of dropping its oldest. */
  refuseNewWhenFull?: boolean
}

/** A client as aedes passes it (only the id is used). */
export interface ClientRef { id: string }

/** The broker as setup() sees it: its id, live clients and publish (for journal replay). */
export interface BrokerRef extends Partial<Republisher> {
  id: string
  clients?: Record<string, unknown>
}

/** Figures for $SYS and metrics. */
export interface PersistenceStats {
  mode: SyncMode
  open: OpenOutcome['status'] | 'not-open'
  subscriptions: number
  persistentClients: number
  journalPending: number
  journalReplayed: number
  quarantined: number
  /** Queued messages dropped from (or refused by) full offline queues since the process started. */
  queueDropped: number
  /** Of those, for a full user or group budget. */
  queueDroppedByQuota: number
  /** Messages and bytes queued for persistent sessions; undefined until countQueued() has run. */
  queuedMessages: number | undefined
  queuedBytes: number | undefined
  writeBatches: number
  writeOps: number
  /** LevelDB iterators opened and point reads made since the process started (counted-level.ts). */
  readIterators: number
  readGets: number
  syncs: number
  /** Batches LevelDB refused (full disk, I/O error). */
  writeFailures: number
  /** Wall-clock ms of the start of the last synced batch. */
  lastSyncAt: number | undefined
  /** Seconds in synced batches, all and the last one. */
  syncSeconds: number
  lastSyncSeconds: number
}

/** A write of another part that must honour persistence.sync (one op of a sublevel). */
export interface DurableOp { type: 'put' | 'del', key: string, value?: unknown }

/** A sublevel handed to other parts (bans, bridge queues); V is the value type its encoding yields. */
export type Sublevel<V> = ReturnType<RootLevel['sublevel']> & { readonly __value?: (v: V) => void }

/** Any sublevel of this store, whatever its value type. */
export type AnySublevel = ReturnType<RootLevel['sublevel']>

/** edgemq's LevelDB persistence: what aedes accepts as `persistence`, plus edgemq's extras. */
export class LevelPersistence {
  readonly options: Readonly<LevelPersistenceOptions>
  private readonly db: RootLevel
  /** Reads of the store (counted-level.ts), for stats and the no-I/O tests. */
  private readonly reads: LevelReads
  private readonly ctx: StoreContext
  private readonly queue: WriteQueue
  private readonly subs = new SubscriptionTable()
  private readonly outgoing: OutgoingStore
  private readonly journal: IncomingJournal
  private readonly logger: Logger
  private readonly opening: Promise<OpenOutcome>
  private outcome: OpenOutcome | undefined
  private brokerRef: BrokerRef | undefined
  /** Clients with a stored will (keys loaded at setup): most CONNECTs then cost no will I/O. */
  private readonly willOwners = new Set<string>()
  /**
   * Clients that hold (or may hold) incoming QoS 2 records (I keys): loaded at
   * setup, added to with each I write, removed when a clean start discards
   * them; so a clean CONNECT of a client without any reads nothing.
   */
  private readonly incomingHolders = new Set<string>()
  /** Clients whose incoming QoS 2 records are being deleted by cleanSubscriptions, until the delete lands. */
  private readonly incomingClears = new Map<string, Promise<void>>()
  /** Clients with a persistent session (aedes knows a session only by its subscriptions). */
  private readonly sessionOwners = new Set<string>()
  // The sessions among them that expire (v5 Session Expiry Interval below
  // 0xFFFFFFFF): the interval and when the connection closed (0: open, or
  // unknown after a crash). Mirrors the values of the P range; aedes's expiry
  // timers are in memory only, so after a restart src/engine/restore-session-expiry.ts
  // ends or re-arms these [MQTT-4.1.0-2].
  private readonly sessionExpiry = new Map<string, SessionDeadline>()
  /** First levels of the stored retained topics: a SUBSCRIBE that can match none of them reads nothing. */
  private readonly retainedLevels = new RetainedLevels()
  /** Whether a client's connection is open now (set by the engine; else: registered with aedes). */
  isConnectionOpen: ((clientId: string) => boolean) | undefined
  // Payloads of messages refuse-new admitted (queueFull said "fits" and the
  // publisher is acknowledged): their enqueue queues them even over the cap.
  private readonly admitted = new WeakSet<object>()
  private closing: Promise<void> | undefined

  constructor (options: LevelPersistenceOptions) {
    this.options = Object.freeze({ ...options })
    this.logger = (options.logger ?? silentLogger).child('persistence')
    this.db = createRootLevel(options.path, options)
    this.reads = countReads(this.db)
    this.queue = new WriteQueue({ db: this.db, mode: options.sync, syncInterval: options.syncInterval, logger: this.logger, syncMarkerKey: metaKey('lastSync') })
    this.ctx = new StoreContext({ db: this.db, queue: this.queue, logger: this.logger, cipher: options.valueCipher })
    this.outgoing = new OutgoingStore(this.ctx)
    this.outgoing.setQueueLimits({ maxMessages: options.maxQueuedMessages ?? 0, maxBytes: options.maxQueuedBytes ?? 0, maxTotalMessages: options.maxQueuedMessagesTotal ?? 0, refuseNew: options.refuseNewWhenFull })
    this.journal = new IncomingJournal(this.ctx)
    this.opening = openStore(this.db, this.logger).then((outcome) => { this.outcome = outcome; return outcome })
    this.opening.catch(() => {}) // reported by ready()/setup()
  }

  /** The broker aedes set up this persistence with. */
  get broker (): BrokerRef | undefined {
    return this.brokerRef
  }

  /** Resolves once the store is open (repaired or replaced if it had to be); rejects if it cannot be. */
  async ready (): Promise<OpenOutcome> {
    return await this.opening
  }

  /** aedes calls this from listen(): waits for the open, loads the sequence, subscriptions and counts. */
  async setup (broker: BrokerRef): Promise<void> {
    this.brokerRef = broker
    const outcome = await this.opening
    this.outgoing.isOnline = (id) => broker.clients?.[id] !== undefined
    await this.ctx.loadSequence()
    // count what earlier runs quarantined before this run adds its own
    for await (const _ of this.db.keys(prefixRange(Buffer.of(KIND.QUARANTINE)))) this.ctx.quarantined++
    await this.loadSubscriptions()
    for await (const key of this.db.keys(prefixRange(Buffer.of(KIND.WILL)))) this.willOwners.add(readClientId(key))
    for await (const key of this.db.keys(prefixRange(Buffer.of(KIND.INCOMING)))) this.incomingHolders.add(readClientId(key))
    for await (const [key, value] of this.db.iterator(prefixRange(Buffer.of(KIND.SESSION)))) {
      const clientId = readClientId(key)
      this.sessionOwners.add(clientId)
      const deadline = decodeSessionMark(clientId, value)
      if (deadline !== undefined) this.sessionExpiry.set(clientId, deadline)
    }
    for await (const key of this.db.keys(prefixRange(Buffer.of(KIND.RETAINED)))) this.retainedLevels.add(key.toString('utf8', 1))
    this.retainedLevels.markLoaded()
    await this.outgoing.loadQueueHolders() // a CONNECT of a client with no queue then costs no iterator
    await this.outgoing.loadAllBounds() // refuse-new decides from loaded figures only
    this.logger.info('store open', { path: this.options.path, status: outcome.status, sync: this.options.sync, subscriptions: this.subs.counts().subsCount, quarantined: this.ctx.quarantined })
  }

  /**
   * Re-publishes the messages a crash left in the journal (acknowledged, never
   * routed), in order, and ends their entries. Call once after aedes.listen()
   * and before the listeners accept clients; `publish` defaults to the broker's.
   */
  async replayJournal (publish?: (packet: StoredPacket) => Promise<void>): Promise<number> {
    const broker = this.brokerRef
    const fn = publish ?? (broker?.publish === undefined
      ? undefined
      : (packet: StoredPacket) => new Promise<void>((resolve, reject) => { broker.publish!(packet, null, (err) => { err ? reject(err) : resolve() }) }))
    if (fn === undefined) throw new Error('replayJournal needs a publish function or a broker set up with publish()')
    return await this.journal.replay(fn)
  }

  // ---- the journal (see incoming-journal.ts); called by src/broker.ts ----

  /** Call from authorizePublish, after the decision to allow, before its callback: makes the PUBACK/PUBREC durable. */
  async journalIncoming (clientId: string, packet: StoredPacket): Promise<void> {
    if (packet.qos === 2) this.incomingHolders.add(clientId) // the journal writes its I record
    await this.journal.journal(clientId, packet)
  }

  /**
   * journalIncoming in two steps, for a QoS 1 message routed while its entry
   * is on its way to disk (src/engine/route-qos1-before-ack.ts): route once
   * `queued` is undefined or resolved, acknowledge once `landed` resolves.
   */
  beginJournal (clientId: string, packet: StoredPacket): JournalTicket {
    if (packet.qos === 2) this.incomingHolders.add(clientId) // the journal writes its I record
    return this.journal.begin(clientId, packet)
  }

  /** Call from aedes's `published` hook: ends the journal entry of a routed message (usually already ended atomically). */
  async completeIncoming (packet: StoredPacket): Promise<void> {
    await this.journal.complete(packet)
  }

  /**
   * Whether an accepted QoS 1/2 message must be journaled before it is
   * acknowledged: QoS 2, retained, or matched by a persistent session's
   * subscription (in memory, synchronous). A QoS 1 message only clean sessions
   * receive has nowhere to go after a crash (their sessions end with the
   * process), so its journal write and delete are skipped.
   */
  needsJournal (topic: string, qos: number, retain: boolean): boolean {
    return qos === 2 || retain || this.subs.matchShared(topic).length > 0
  }

  /**
   * Whether a QoS 1 message can be stored before its PUBACK instead of
   * journaled: not retained, and every persistent session subscribed to its
   * topic is away (in memory, synchronous). Its queue write is then awaited
   * by aedes's publish pipeline, and the engine writes the PUBACK once that
   * pipeline ends (AFTER_ROUTE, src/engine/route-qos1-before-ack.ts): the payload is written once,
   * not twice (journal entry, then queued copy). A connected persistent
   * subscriber keeps the journal: its acknowledgement usually lands with the
   * queued copy, which is then never written (invariant 12), cheaper still.
   */
  ackAfterStore (topic: string, qos: number, retain: boolean): boolean {
    if (qos !== 1 || retain) return false
    const subs = this.subs.matchShared(topic)
    if (subs.length === 0) return false
    for (const s of subs) if (this.outgoing.isOnline(s.clientId)) return false
    return true
  }

  /**
   * Whether aedes's offline-queue step (subscriptionsByTopic, then
   * outgoingEnqueueCombi) has anything to do for a QoS 1/2 message being
   * routed: a persistent session's QoS 1/2 subscription matches its topic, or
   * it has a journal entry to end. When not, both calls would return at once
   * with nothing written (src/engine/route-qos1-before-ack.ts skips them).
   */
  routesOffline (packet: StoredPacket): boolean {
    return this.subs.matchShared(packet.topic as string).length > 0 || this.journal.isOpen(packet)
  }

  /** Ends a routed packet's journal entry; undefined (no promise) when it has none. */
  journalDone (_clientId: string, packet: StoredPacket): Promise<void> | undefined {
    return this.journal.complete(packet)
  }

  // ---- retained ----

  /** Stores (or, with an empty payload, deletes) the retained message of a topic. */
  async storeRetained (pkt: StoredPacket): Promise<void> {
    const packet = { ...pkt }
    if (typeof packet.topic !== 'string' || packet.topic.length === 0) throw new Error(`retained message without a valid topic: ${String(packet.topic)}`)
    const payload = packet.payload as { length?: number } | undefined
    const key = retainedKey(packet.topic)
    const deletes = payload === undefined || payload === null || payload.length === 0
    // before the write is queued: a SUBSCRIBE from now on must look (and waits for the write)
    if (!deletes) this.retainedLevels.add(packet.topic)
    const written = deletes
      ? this.queue.write([{ type: 'del', key }])
      : this.queue.write([{ type: 'put', key, value: this.ctx.seal(encodePacket(packet)) }])
    // as in outgoingEnqueueCombi: a journaled message's entry outlives this write
    if (this.journal.isOpen(pkt)) written.catch((err: Error) => { this.logger.error('retained write failed; the journal entry stays for replay', { error: err.message }) })
    else await written
  }

  /** Whether a retained message may match any of the filters (false: createRetainedStreamCombi reads nothing). */
  mayHaveRetained (patterns: string[]): boolean {
    return this.retainedLevels.mayMatchAny(patterns)
  }

  /** Retained messages matching one filter. */
  createRetainedStream (pattern: string): Readable {
    return this.createRetainedStreamCombi([pattern])
  }

  /** Retained messages matching any of the filters, each once; scans only the literal prefixes' ranges. */
  createRetainedStreamCombi (patterns: string[]): Readable {
    // no retained topic under any of the filters' first levels: no iterator, no wait
    if (!this.retainedLevels.mayMatchAny(patterns)) return endedStream()
    const ctx = this.ctx
    const db = this.db
    const queue = this.queue
    async function * gen (): AsyncGenerator<StoredPacket> {
      // A retained message whose PUBACK has gone out may still be in the write
      // queue (aedes stores it after acknowledging); a SUBSCRIBE that follows
      // must see it, as with Mosquitto. Wait for what is queued, then read.
      await queue.settled()
      for (const prefix of coveringPrefixes(patterns)) {
        for await (const [key, value] of db.iterator(prefixRange(retainedKey(prefix)))) {
          const topic = key.toString('utf8', 1)
          if (!patterns.some((p) => topicMatches(p, topic))) continue
          const packet = ctx.decodeOrQuarantine(key, value, decodePacket, (d) => isRoutablePublish(d) ? undefined : 'retained message is not a routable publish')
          if (packet !== undefined) yield packet
        }
      }
    }
    return ctx.reads.stream(gen)
  }

  // ---- subscriptions ----

  /** Adds subscriptions of a persistent session (durable before SUBACK). */
  async addSubscriptions (client: ClientRef, subs: SubscriptionInput[]): Promise<void> {
    const ops: WriteOp[] = this.subs.add(client.id, subs).map(({ topic, record }) => ({ type: 'put', key: subKey(client.id, topic), value: this.ctx.seal(encodeSubscription(record)) }))
    await this.queue.write(ops)
  }

  /** Removes subscriptions of a persistent session. */
  async removeSubscriptions (client: ClientRef, topics: string[]): Promise<void> {
    await this.queue.write(this.subs.remove(client.id, topics).map((topic) => ({ type: 'del', key: subKey(client.id, topic) })))
  }

  /** Subscriptions of a client, as aedes restores them on reconnect. */
  async subscriptionsByClient (client: ClientRef): Promise<Array<SubscriptionRecord & { topic: string }>> {
    // aedes reads them when a persistent client reconnects, then restores them
    // (live deliveries start) and only later replays the queue: live
    // deliveries wait for that replay (OutgoingStore.expectDrain)
    this.outgoing.expectDrain(client.id)
    return this.subs.ofClient(client.id)
  }

  /** Counts of persistent subscriptions (QoS > 0) and of clients with any subscription. */
  async countOffline (): Promise<{ subsCount: number, clientsCount: number }> {
    return this.subs.counts()
  }

  /** The same, shared with the table's cache: read it, never change or keep it (the engine's own offline-queue step). */
  offlineSubscriptions (topic: string): readonly TopicSubscription[] {
    return this.subs.matchShared(topic)
  }

  /** QoS > 0 persistent subscriptions matching a topic (routing to offline queues). */
  async subscriptionsByTopic (topic: string): Promise<TopicSubscription[]> {
    return this.subs.match(topic)
  }

  /** Removes every subscription of a client (aedes calls it when a session ends or a clean one starts): the session is gone. */
  async cleanSubscriptions (client: ClientRef): Promise<void> {
    // a clean session's queue is drained and cleared by aedes; its figures are rescanned when next needed
    this.outgoing.bounds.forget(client.id)
    this.outgoing.forgetIfEmpty(client.id)
    const ops: WriteOp[] = this.subs.clean(client.id).map((topic) => ({ type: 'del', key: subKey(client.id, topic) }))
    // forgotten in memory at once: a CONNACK built before the write lands must not say Session Present
    if (this.sessionOwners.delete(client.id)) ops.push({ type: 'del', key: sessionKey(client.id) })
    this.sessionExpiry.delete(client.id)
    // [MQTT-3.1.2-6] [MQTT-4.1.0-1] the QoS 2 messages received but not released
    // are session state too: a clean start discards them. Kept, a clean client
    // reusing a packet id had its new message taken for a retransmission of
    // the old one (PUBREC, never routed: lost; found by qos2-publish-order).
    // aedes waits for this before its CONNACK, so no PUBLISH of the new
    // connection is handled before the delete lands.
    // Two ends of the same client id can overlap (a v5 session that ends as its
    // connection closes, and the clean start of its next connection): the one
    // that finds no holder waits for the other's delete, or the new
    // connection's PUBLISH could still find the old record (1 in 12 runs of
    // qos2-publish-order under load).
    if (this.incomingHolders.delete(client.id)) {
      const clearing = this.clearIncoming(client.id)
      this.incomingClears.set(client.id, clearing)
      try { await clearing } finally { if (this.incomingClears.get(client.id) === clearing) this.incomingClears.delete(client.id) }
    } else {
      await this.incomingClears.get(client.id)
    }
    await this.queue.write(ops)
  }

  /** Deletes every stored incoming QoS 2 record of a client; resolves once the delete has landed. */
  private async clearIncoming (clientId: string): Promise<void> {
    await this.queue.settled() // an I write of the old connection still on its way is in the scan
    const ops: WriteOp[] = []
    for await (const key of this.db.keys(prefixRange(clientPrefix(KIND.INCOMING, clientId)))) ops.push({ type: 'del', key })
    if (ops.length > 0) await this.queue.write(ops)
  }

  /**
   * Records that a client has a persistent session (CleanSession 0, v5 Session
   * Expiry > 0): it is kept, and resumed with Session Present 1, even without a
   * subscription [MQTT-3.2.2-2]. Ended by cleanSubscriptions.
   */
  async rememberSession (clientId: string, expiry: number = SESSION_NEVER_EXPIRES): Promise<void> {
    const known = this.sessionExpiry.get(clientId)
    const finite = expiry < SESSION_NEVER_EXPIRES
    if (this.sessionOwners.has(clientId) && (finite ? known?.expiry === expiry && known.closedAt === 0 : known === undefined)) return
    this.sessionOwners.add(clientId)
    const deadline = { clientId, expiry, closedAt: 0 }
    if (finite) this.sessionExpiry.set(clientId, deadline)
    else this.sessionExpiry.delete(clientId)
    await this.queue.write([{ type: 'put', key: sessionKey(clientId), value: encodeSessionMark(finite ? deadline : undefined) }])
  }

  /** Records when the connection of an expiring session closed (its expiry runs from then, restarts included). */
  async sessionClosed (clientId: string, at: number): Promise<void> {
    const known = this.sessionExpiry.get(clientId)
    if (known === undefined || !this.sessionOwners.has(clientId) || known.expiry === 0) return
    known.closedAt = at
    await this.queue.write([{ type: 'put', key: sessionKey(clientId), value: encodeSessionMark(known) }])
  }

  /** The sessions that expire, with their interval and close time (read at start to end or re-arm them). */
  sessionDeadlines (): SessionDeadline[] {
    return [...this.sessionExpiry.values()].map((d) => ({ ...d }))
  }

  /**
   * Ends a session whose expiry passed while no process watched it (a restart,
   * a crash): its subscriptions, marker, queued and inflight messages and
   * incoming QoS 2 state go [MQTT-4.1.0-2]. Its will stays for the will check.
   */
  async endSession (clientId: string): Promise<void> {
    await this.cleanSubscriptions({ id: clientId })
    this.outgoing.forget(clientId)
    await this.queue.settled() // an enqueue for it still on its way lands first, then goes with the rest
    const ops: WriteOp[] = []
    for (const kind of [KIND.OUT, KIND.OUT_STATE, KIND.INCOMING]) {
      for await (const key of this.db.keys(prefixRange(clientPrefix(kind, clientId)))) ops.push({ type: 'del', key })
    }
    await this.queue.write(ops)
  }

  /** Whether a client has a persistent session (known in memory, no I/O). */
  hasSession (clientId: string): boolean {
    return this.sessionOwners.has(clientId)
  }

  /** Clients holding a subscription to exactly this topic. */
  getClientList (topic: string): Readable {
    return Readable.from(this.subs.clientsOf(topic))
  }

  // ---- outgoing ----

  /** Queues a message for one subscriber. */
  async outgoingEnqueue (sub: { clientId: string }, packet: StoredPacket): Promise<void> {
    // aedes's Client.publish: the packet already went through that client's
    // subscription (RETAIN cleared unless Retain As Published), keep it as is
    await this.enqueueFor([sub], packet, { keepRetain: new Set([sub.clientId]) })
  }

  /** Queues a message for its persistent subscribers; ends its journal entry in the same atomic batch. */
  outgoingEnqueueCombi (subs: ReadonlyArray<{ clientId: string, rap?: boolean, qos?: number }>, packet: StoredPacket): Promise<void> {
    // No async wrappers and no per-client tables unless they change something:
    // this runs for every QoS > 0 publish (issue 11's enqueue profile: the two
    // async frames, the Map and the Set were a quarter of the store's garbage
    // per queued message).
    // The QoS each client was granted (the highest of its matching
    // subscriptions), where it lowers the message's [MQTT-3.8.4-6]
    let granted: Map<string, number> | undefined
    const qos = packet.qos as number
    if (subs.some((s) => typeof s.qos === 'number' && s.qos < qos)) {
      granted = new Map()
      for (const s of subs) if (typeof s.qos === 'number') granted.set(s.clientId, Math.max(s.qos, granted.get(s.clientId) ?? 0))
    }
    // the clients that keep a retained message's RETAIN 1 (a subscription with Retain As Published)
    const keepRetain = packet.retain === true ? new Set(subs.filter((s) => s.rap === true).map((s) => s.clientId)) : undefined
    return this.enqueueFor(subs, packet, { keepRetain, granted })
  }

  private enqueueFor (subs: ReadonlyArray<{ clientId: string }>, packet: StoredPacket, per: PerClient): Promise<void> {
    try {
      // refuse-new admitted it before its PUBACK (queueFull): never the one dropped.
      // Taken out here, where its one enqueue runs: a payload object used again
      // for a later message is not admitted by the first one's decision.
      if (this.admitted.delete(packet.payload as object)) per.admitted = true
      const journalDel = this.journal.takeForPacket(packet)
      // aedes calls this for every QoS > 0 publish; with no persistent subscriber
      // and no journal entry there is nothing to write (no batch, no queue turn)
      if (subs.length === 0 && journalDel === undefined) return LANDED
      // A journaled QoS 1 message's queue write is lazy (write-queue.ts): it may
      // wait a few ms for company, so that an online subscriber's PUBACK lands in
      // the same batch and the queued copy is never written (a sensor day with an
      // online persistent subscriber: 430 -> 291 bytes per message, docs/persistence.md).
      // QoS 2 keeps the prompt write.
      const lazy = journalDel !== undefined && packet.qos === 1
      const written = this.outgoing.enqueue(subs.map((s) => s.clientId), packet, journalDel === undefined ? [] : [journalDel], per, { lazy })
      if (journalDel === undefined) return written
      // A journaled message is already durable: its journal entry stays until this
      // batch lands (the delete is in it), and a crash before that replays it. So
      // aedes need not wait for this write: one LevelDB round trip less per
      // message on the publish path. Later writes are queued behind it (FIFO).
      written.catch((err: Error) => { this.logger.error('queue write failed; the journal entry stays for replay', { error: err.message }) })
      return LANDED
    } catch (err) {
      // a record that cannot be built (a string too long for it) fails this publish's routing, as a rejected write would
      return Promise.reject(err)
    }
  }

  /** Records a packet id given to a queued message, or its PUBREL phase. */
  outgoingUpdate (client: ClientRef, packet: StoredPacket): Promise<void> {
    // no async wrapper: one promise per delivered message, not two (issue 11's drain profile)
    return this.outgoing.update(client.id, packet)
  }

  /** Removes an acknowledged message; returns it. */
  outgoingClearMessageId (client: ClientRef, packet: StoredPacket): Promise<StoredPacket | undefined> {
    // a clean session's stored records are all in the index (OutgoingStore.clear)
    return this.outgoing.clear(client.id, packet, (client as { clean?: boolean }).clean === true)
  }

  /** Resolves once the client's coming or running queue replay has ended; undefined when none. */
  queueReplayDone (clientId: string): Promise<void> | undefined {
    return this.outgoing.replayDone(clientId)
  }

  /** Whether outgoingStream(client) would yield nothing now (a clean CONNECT then builds no stream). */
  outgoingIsEmpty (client: ClientRef): boolean {
    return this.outgoing.isEmpty(client.id)
  }

  /** The queue of a client in order. */
  outgoingStream (client: ClientRef): Readable {
    return this.outgoing.stream(client.id)
  }

  /** The queue of a client in order, handed to `each` one packet at a time (the engine's own replay; see OutgoingStore.replayInto). */
  outgoingReplay (client: ClientRef, each: (packet: StoredPacket) => Promise<void> | undefined): Promise<void> {
    return this.outgoing.replayInto(client.id, each)
  }

  // ---- incoming QoS 2 ----

  /** Stores an incoming QoS 2 packet until its PUBREL (durable before PUBREC). */
  async incomingStorePacket (client: ClientRef, packet: StoredPacket): Promise<void> {
    this.incomingHolders.add(client.id)
    if (this.journal.consumeFirstDelivery(client.id, packet.messageId)) return // written with its journal entry
    await this.queue.write([{ type: 'put', key: incomingKey(client.id, packet.messageId as number), value: this.ctx.seal(encodePacket(normalizeIncoming(packet))) }])
  }

  /** The stored incoming QoS 2 packet with this packet id; rejects when there is none. */
  async incomingGetPacket (client: ClientRef, packet: StoredPacket): Promise<StoredPacket> {
    if (this.journal.isFirstDelivery(client.id, packet.messageId)) throw new Error('no such packet')
    const key = incomingKey(client.id, packet.messageId as number)
    const raw = await this.db.get(key)
    const stored = raw === undefined ? undefined : this.ctx.decodeOrQuarantine(key, raw, decodePacket)
    if (stored === undefined) throw new Error('no such packet')
    return stored
  }

  /** Forgets an incoming QoS 2 packet (PUBREL received). */
  async incomingDelPacket (client: ClientRef, packet: StoredPacket): Promise<void> {
    await this.queue.write([{ type: 'del', key: incomingKey(client.id, packet.messageId as number) }])
  }

  // ---- wills ----

  /** Stores the will of a client (aedes expects brokerId and clientId set on the packet). */
  async putWill (client: ClientRef, packet: StoredPacket): Promise<void> {
    packet.brokerId = this.brokerRef?.id
    packet.clientId = client.id
    this.willOwners.add(client.id)
    await this.queue.write([{ type: 'put', key: willKey(client.id), value: this.ctx.seal(encodePacket(packet)) }])
  }

  /** The will of a client, if any. */
  async getWill (client: ClientRef): Promise<StoredPacket | undefined> {
    // aedes deletes the will on every CONNECT: most clients have none, so answer without I/O
    if (!this.willOwners.has(client.id)) return undefined
    const key = willKey(client.id)
    const raw = await this.db.get(key)
    return raw === undefined ? undefined : this.ctx.decodeOrQuarantine(key, raw, decodePacket, validWill)
  }

  /** Deletes the will of a client; returns it. */
  async delWill (client: ClientRef): Promise<StoredPacket | undefined> {
    if (!this.willOwners.has(client.id)) return undefined
    const will = await this.getWill(client)
    this.willOwners.delete(client.id)
    await this.queue.write([{ type: 'del', key: willKey(client.id) }])
    return will
  }

  /**
   * Whether a will a previous run left (its client gone in a crash) may still
   * be published, asked by the engine as its owner under the ACL in force;
   * absent: every one may.
   */
  orphanWillCheck: ((will: StoredPacket & { clientId: string }) => boolean | Promise<boolean>) | undefined = undefined

  /**
   * Wills of clients whose broker is not in `brokers` (aedes publishes them).
   * A will of an earlier run that orphanWillCheck refuses is deleted here and
   * not streamed: aedes publishes every will it is given, and a refusal from
   * its authorizePublish would stop its sweep and keep the will for the next.
   */
  streamWill (brokers: Record<string, unknown> = {}): Readable {
    const ctx = this.ctx
    const db = this.db
    const self = this
    async function * gen (): AsyncGenerator<StoredPacket> {
      for await (const [key, value] of db.iterator(prefixRange(Buffer.of(KIND.WILL)))) {
        const will = ctx.decodeOrQuarantine(key, value, decodePacket, validWill)
        if (will === undefined || brokers[will.brokerId as string]) continue
        const check = self.orphanWillCheck
        if (check !== undefined && will.brokerId !== self.brokerRef?.id && !(await check(will as StoredPacket & { clientId: string }))) {
          await self.delWill({ id: will.clientId as string })
          continue
        }
        yield will
      }
    }
    return ctx.reads.stream(gen)
  }

  // ---- edgemq extras ----

  /** A namespaced key/value store in the same LevelDB (bans, bridge queues); write durably with durableBatch. */
  sublevel<V = string> (name: string, options: { valueEncoding?: string } = {}): Sublevel<V> {
    if (!/^[a-z][a-z0-9-]*$/.test(name)) throw new RangeError(`sublevel name must be lower-case letters, digits and dashes: got "${name}"`)
    return this.db.sublevel(name, { keyEncoding: 'utf8', valueEncoding: options.valueEncoding ?? 'utf8' }) as Sublevel<V>
  }

  /** Writes ops on a sublevel atomically, group-committed and as durable as persistence.sync promises. */
  async durableBatch (sublevel: AnySublevel, ops: readonly DurableOp[]): Promise<void> {
    await this.queue.write(ops.map((op) => ({ ...op, sublevel })))
  }

  /** One durable put on a sublevel. */
  async durablePut (sublevel: AnySublevel, key: string, value: unknown): Promise<void> {
    await this.durableBatch(sublevel, [{ type: 'put', key, value }])
  }

  /** One durable delete on a sublevel. */
  async durableDel (sublevel: AnySublevel, key: string): Promise<void> {
    await this.durableBatch(sublevel, [{ type: 'del', key }])
  }

  /** Figures for $SYS and metrics (in-memory counters, no I/O). */
  stats (): PersistenceStats {
    const counts = this.subs.counts()
    const q = this.queue.counters
    return {
      mode: this.options.sync,
      open: this.outcome?.status ?? 'not-open',
      subscriptions: counts.subsCount,
      persistentClients: counts.clientsCount,
      journalPending: this.journal.pending,
      journalReplayed: this.journal.replayed,
      quarantined: this.ctx.quarantined,
      queueDropped: this.outgoing.bounds.dropped,
      queueDroppedByQuota: this.outgoing.bounds.droppedByQuota,
      queuedMessages: this.outgoing.bounds.counted ? this.outgoing.bounds.total.messages : undefined,
      queuedBytes: this.outgoing.bounds.counted ? this.outgoing.bounds.total.bytes : undefined,
      writeBatches: q.batches,
      writeOps: q.ops,
      readIterators: this.reads.iterators,
      readGets: this.reads.gets,
      syncs: q.syncs,
      writeFailures: q.failures,
      lastSyncAt: q.lastSyncAt,
      syncSeconds: q.syncSeconds,
      lastSyncSeconds: q.lastSyncSeconds
    }
  }

  /**
   * Changes the per-client caps of the offline queues (0 = no cap), for instance
   * on a config reload; applies from the next enqueue (a now-smaller queue is
   * trimmed by its next enqueue).
   */
  setQueueLimits (limits: { maxMessages: number, maxBytes: number, maxTotalMessages?: number, refuseNew?: boolean }): void {
    this.outgoing.setQueueLimits(limits)
    // a reload to refuse-new: the figures it decides from are loaded in the background (until then, "fits")
    if (this.brokerRef !== undefined && limits.refuseNew === true) this.outgoing.countQueued().catch((err: Error) => { this.logger.warn('queue figures not loaded', { error: err.message }) })
  }

  /**
   * Whether a message of `bytes` for `topic` would not fit in the offline queue
   * of one of its persistent subscribers (figures loaded in this process;
   * synchronous, for the decision before a PUBACK under refuse-new).
   */
  queueFull (topic: string, bytes: number, payload?: object): boolean {
    if (this.outgoing.bounds.limits.refuseNew !== true) return false
    // a connected subscriber gets the message now: its queue is not what the cap
    // bounds (makeRoom); one whose connection is closing does not, it is away
    const open = this.isConnectionOpen ?? this.outgoing.isOnline
    for (const sub of this.subs.matchShared(topic)) if (!open(sub.clientId) && this.outgoing.bounds.wouldOverflow(sub.clientId, bytes)) return true
    // Admitted: the publisher is acknowledged for it, so its enqueue must not
    // drop it, even when a subscriber went away, or a queue filled, between
    // this decision and the write (the journal write lies between them; a
    // subscriber whose socket was closing still counted as connected here).
    // Found by the model-based test (seed -1307030268); the cap may be
    // exceeded by the messages admitted in that window.
    if (payload !== undefined) this.admitted.add(payload)
    return false
  }

  /**
   * Counts what every persistent session has queued (once, after the broker is
   * ready; see OutgoingStore.countQueued); stats() reports the queue depth from then on.
   */
  async countQueued (): Promise<void> {
    const t0 = performance.now()
    await this.outgoing.countQueued()
    const b = this.outgoing.bounds
    this.logger.info('offline queues counted', { clients: b.trackedClients, messages: b.total.messages, bytes: b.total.bytes, ms: Math.round(performance.now() - t0) })
  }

  /** The budgets (user's, groups') a client's offline queue adds to; called when its figures load. Call reshareQueues() when they change. */
  setQueueShares (sharesOf: (clientId: string) => readonly QueueShare[]): void {
    this.outgoing.bounds.sharesOf = sharesOf
    this.outgoing.bounds.reshare()
  }

  /** Looks up every tracked client's budgets again (users' groups or group caps changed). */
  reshareQueues (): void {
    this.outgoing.bounds.reshare()
  }

  /** Approximate bytes on disk per kind of record (LevelDB estimates; cheap, async). */
  async sizes (): Promise<Record<string, number>> {
    const out: Record<string, number> = {}
    for (const kind of Object.keys(KIND_NAMES).map(Number)) {
      const range = prefixRange(Buffer.of(kind)) as { gte: Buffer, lt: Buffer }
      out[KIND_NAMES[kind]] = await this.db.approximateSize(range.gte, range.lt)
    }
    return out
  }

  /** Finishes queued writes (a final fsync unless sync is never) and closes LevelDB. Idempotent. */
  async close (): Promise<void> {
    this.closing ??= (async () => {
      await this.opening.catch(() => {})
      // the expiry of sessions still connected runs from now, not from the next start
      const now = Date.now()
      const closing: WriteOp[] = []
      for (const d of this.sessionExpiry.values()) if (d.closedAt === 0 && d.expiry > 0) { d.closedAt = now; closing.push({ type: 'put', key: sessionKey(d.clientId), value: encodeSessionMark(d) }) }
      await this.queue.write(closing).catch((err: Error) => { this.logger.warn('session close times not stored', { error: err.message }) })
      await this.outgoing.persistInflight().catch((err: Error) => { this.logger.warn('packet ids of unacknowledged QoS 1 messages not stored', { error: err.message }) })
      await this.queue.close()
      // record streams still running (a retained lookup of a late SUBSCRIBE) end quietly: LevelDB's
      // close ends their iterators, and a closed store ends a stream rather than failing it
      this.ctx.reads.close()
      if (this.db.status === 'open' || this.db.status === 'opening') await this.db.close()
    })()
    await this.closing
  }

  /** aedes-persistence's name for close(). */
  async destroy (): Promise<void> {
    await this.close()
  }

  private async loadSubscriptions (): Promise<void> {
    for await (const [key, value] of this.db.iterator(prefixRange(Buffer.of(KIND.SUB)))) {
      let parsed: { clientId: string, topic: string }
      try {
        parsed = parseSubKey(key)
      } catch {
        this.ctx.quarantine(key, value, 'bad subscription key')
        continue
      }
      const record = this.ctx.decodeOrQuarantine(key, value, decodeSubscription, () => parsed.topic.length === 0 ? 'subscription with an empty topic' : undefined)
      if (record !== undefined) this.subs.load(parsed.clientId, parsed.topic, record)
    }
  }
}

function validWill (will: StoredPacket): string | undefined {
  return isRoutablePublish(will) ? undefined : 'will is not a routable publish (topic missing or invalid)'
}

/** Creates edgemq's LevelDB persistence; pass it to aedes as `persistence`. */
export function createLevelPersistence (options: LevelPersistenceOptions): LevelPersistence {
  return new LevelPersistence(options)
}


/** The Session Expiry Interval of a session that never expires: 3.1.1 CleanSession 0, v5 0xFFFFFFFF. */
export const SESSION_NEVER_EXPIRES = 0xFFFFFFFF

/** An expiring session: interval (s) and when its connection closed (ms since the epoch; 0: open or unknown). */
export interface SessionDeadline { clientId: string, expiry: number, closedAt: number }

// The value of a session marker: empty for a session that never expires (and
// in stores written before issue 11), else the interval (uint32 s) and the
// close time (float64 ms).
function encodeSessionMark (d: SessionDeadline | undefined): Buffer {
  if (d === undefined) return Buffer.alloc(0)
  const b = Buffer.alloc(12)
  b.writeUInt32BE(d.expiry, 0)
  b.writeDoubleBE(d.closedAt, 4)
  return b
}

function decodeSessionMark (clientId: string, value: Buffer): SessionDeadline | undefined {
  if (value.length < 12) return undefined
  const expiry = value.readUInt32BE(0)
  const closedAt = value.readDoubleBE(4)
  return expiry < SESSION_NEVER_EXPIRES && Number.isFinite(closedAt) ? { clientId, expiry, closedAt } : undefined
}
