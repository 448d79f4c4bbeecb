// The incoming journal: edgemq's fix for aedes acknowledging before it stores.
//
// aedes 2.0.0-beta.1 writes PUBACK for a QoS 1 publish *before* it routes and
// persists the message (lib/handlers/publish.js, enqueuePublish case 1): a
// kill -9 right after the PUBACK loses a message the publisher was told was
// delivered. The broker's authorizePublish hook is the last point before that
// PUBACK, so it calls journalIncoming(), which writes the message to the J range
// (durably per persistence.sync) before letting aedes continue. The entry is
// removed in the same atomic batch as the offline-queue write of that message
// (outgoingEnqueueCombi, which aedes runs for every QoS > 0 publish), or by
// completeIncoming() from the `published` hook at the end of the pipeline.
// Entries left by a crash are re-published at the next setup (at least once).
//
// QoS 2: aedes stores the packet (incomingStorePacket) and routes it before
// PUBREC, but a crash between the two would make it answer the client's
// retransmission with PUBREC and never route the message. The journal writes
// the incoming record in the same batch as the journal entry, so after a crash
// the replay routes it once and the retransmission finds it stored: exactly once.
import { decodePacket, encodePacket, isRoutablePublish, type StoredPacket } from './record-codec.ts'
import type { StoreContext } from './store-context.ts'
import { normalizeQueued } from './outgoing-store.ts'
import { incomingKey, journalKey, KIND, prefixRange, readSeqAtEnd } from './store-keys.ts'
import type { WriteOp } from './write-queue.ts'

const MAX_FIRST_DELIVERY_MARKERS = 65_536

/** What replay needs from the broker: aedes's publish(packet, client, done). */
export interface Republisher {
  publish: (packet: StoredPacket, client: null, done: (err?: Error | null) => void) => void
}

/**
 * When a journaled message may be routed and when acknowledged
 * (IncomingJournal.begin): `queued` undefined means "now".
 */
export interface JournalTicket {
  queued: Promise<void> | undefined
  landed: Promise<void>
}

// A message with nothing to journal: routed and acknowledged at once.
const NOTHING_TO_JOURNAL: JournalTicket = { queued: undefined, landed: Promise.resolve() }

/** Normalises an incoming QoS 2 packet the way aedes stores it: as a queued one, keeping its packet id. */
export function normalizeIncoming (packet: StoredPacket): StoredPacket {
  return { ...normalizeQueued(packet), messageId: packet.messageId }
}

/** The journal of acknowledged-but-not-yet-routed incoming messages. */
export class IncomingJournal {
  private readonly ctx: StoreContext
  // live packets -> journal sequence; the payload Buffer is the same object in
  // the packet aedes routes (aedes-packet copies it), so outgoingEnqueueCombi
  // finds the entry from the Packet wrapper it is given
  private readonly byPayload = new WeakMap<object, number>()
  private readonly byPacket = new WeakMap<object, number>()
  private readonly open = new Set<number>()
  /** QoS 2 packets journaled in this process whose incoming record is already written. */
  private readonly firstDelivery = new Map<string, number>()
  /** Per publisher with a write being prepared: resolves once that write is queued (see journal()). */
  private readonly ordering = new Map<string, Promise<void>>()
  replayed = 0

  constructor (ctx: StoreContext) {
    this.ctx = ctx
  }

  /** Entries not yet routed. */
  get pending (): number {
    return this.open.size
  }

  /**
   * Journals an accepted QoS 1/2 publish before it is acknowledged. The
   * writes of one publisher join the write queue in the order its PUBLISHes
   * arrived, so they land, and aedes routes the messages, in that order
   * [MQTT-4.6.0-6]: a QoS 2 message first reads whether it was stored before
   * (a LevelDB read, answered in any order), so while one is reading, the
   * publisher's later messages wait for its write to be queued. (A burst of
   * six QoS 2 messages reached subscribers out of order in about 1 of 10
   * bursts, found by the model-based test; test/e2e/qos2-publish-order.test.ts.)
   */
  async journal (clientId: string, packet: StoredPacket): Promise<void> {
    await this.begin(clientId, packet).landed
  }

  /**
   * Starts journaling an accepted QoS 1/2 publish and says when it may be
   * routed and when acknowledged (src/engine/route-qos1-before-ack.ts routes
   * a QoS 1 message while its entry is on its way to disk): `queued` is
   * undefined when the entry is linked to the packet and its write queued
   * already (a QoS 1 message whose publisher has no earlier write being
   * prepared: the usual case), else it resolves once that is so. From then on
   * the enqueue batch of the routed message finds the entry and deletes it
   * after the put (one FIFO write path). `landed` resolves once the write is
   * as durable as persistence.sync promises: the acknowledgement waits for it.
   */
  begin (clientId: string, packet: StoredPacket): JournalTicket {
    const qos = packet.qos
    // wills and API publishes carry no packet id: their source record is durable already
    if ((qos !== 1 && qos !== 2) || typeof packet.messageId !== 'number') return NOTHING_TO_JOURNAL
    const before = this.ordering.get(clientId)
    if (qos === 1 && before === undefined) return { queued: undefined, landed: this.queueEntry(clientId, packet, [], undefined) }
    let queued!: () => void
    const turn = new Promise<void>((resolve) => { queued = resolve })
    this.ordering.set(clientId, turn)
    const landed = (async () => {
      let write: { landed: Promise<void> } | undefined
      try {
        if (before !== undefined) await before
        write = await this.prepare(clientId, packet)
      } finally {
        queued()
        if (this.ordering.get(clientId) === turn) this.ordering.delete(clientId)
      }
      await write?.landed
    })()
    return { queued: turn, landed }
  }

  // Reads what it must, then queues the write: resolves once the write has
  // its place in the queue (undefined: nothing to write), with the promise of its landing.
  private async prepare (clientId: string, packet: StoredPacket): Promise<{ landed: Promise<void> } | undefined> {
    const ops: WriteOp[] = []
    let firstKey: string | undefined
    if (packet.qos === 2) {
      firstKey = `${clientId}\u0000${String(packet.messageId)}`
      const already = this.firstDelivery.get(firstKey)
      if (already !== undefined) { this.link(packet, already); return undefined } // retransmitted while the first is in flight
      // a retransmission of a message stored before: aedes answers PUBREC and does not route it again
      if (await this.ctx.db.has(incomingKey(clientId, packet.messageId as number))) return undefined
      // a retransmission that came in while this one read
      const now = this.firstDelivery.get(firstKey)
      if (now !== undefined) { this.link(packet, now); return undefined }
      ops.push({ type: 'put', key: incomingKey(clientId, packet.messageId as number), value: this.ctx.seal(encodePacket(normalizeIncoming(packet))) })
    }
    return { landed: this.queueEntry(clientId, packet, ops, firstKey) }
  }

  // Links the entry to the packet and queues its write (synchronously); returns the landing.
  private queueEntry (clientId: string, packet: StoredPacket, ops: WriteOp[], firstKey: string | undefined): Promise<void> {
    const seq = this.ctx.allocSeq()
    // fresh (a new sequence number): when the routed message's enqueue batch
    // joins the same write, the entry and its delete are left out, the queued
    // copies in that atomic batch cover the message (write-queue.ts)
    ops.push({ type: 'put', key: journalKey(seq), value: this.ctx.seal(encodePacket(journalRecord(clientId, packet))), fresh: true })
    this.open.add(seq)
    this.link(packet, seq)
    if (firstKey !== undefined) {
      // bounded: a marker aedes never consumes (the client left between the
      // hook and the store) only costs one needless "not stored yet" answer
      if (this.firstDelivery.size >= MAX_FIRST_DELIVERY_MARKERS) this.firstDelivery.delete(this.firstDelivery.keys().next().value as string)
      this.firstDelivery.set(firstKey, seq)
    }
    return this.ctx.queue.write(ops).catch((err: Error) => {
      this.open.delete(seq)
      if (firstKey !== undefined) this.firstDelivery.delete(firstKey)
      throw err
    })
  }

  /** The delete op of the journal entry of a packet being routed (joins the enqueue batch), if any. */
  takeForPacket (packet: StoredPacket): WriteOp | undefined {
    if (this.open.size === 0) return undefined // the usual case with only clean subscribers: no WeakMap lookups
    const payload = packet.payload
    const seq = (typeof payload === 'object' && payload !== null ? this.byPayload.get(payload) : undefined) ?? this.byPacket.get(packet)
    if (seq === undefined || !this.open.delete(seq)) return undefined
    return { type: 'del', key: journalKey(seq) }
  }

  /** Whether a packet being routed still has its journal entry (it is durable already). */
  isOpen (packet: StoredPacket): boolean {
    if (this.open.size === 0) return false
    const payload = packet.payload
    const seq = (typeof payload === 'object' && payload !== null ? this.byPayload.get(payload) : undefined) ?? this.byPacket.get(packet)
    return seq !== undefined && this.open.has(seq)
  }

  /**
   * Ends the journal entry of a routed packet (the `published` hook); undefined
   * when it has none, so a message that was never journaled costs no promise.
   */
  complete (packet: StoredPacket): Promise<void> | undefined {
    const op = this.takeForPacket(packet)
    return op === undefined ? undefined : this.ctx.queue.write([op])
  }

  /** aedes asks whether a QoS 2 packet id is stored: not for the first delivery journaled here. */
  isFirstDelivery (clientId: string, messageId: unknown): boolean {
    return this.firstDelivery.has(`${clientId}\u0000${String(messageId)}`)
  }

  /** aedes stores the QoS 2 packet: already written with the journal entry, so only forget the marker. */
  consumeFirstDelivery (clientId: string, messageId: unknown): boolean {
    return this.firstDelivery.delete(`${clientId}\u0000${String(messageId)}`)
  }

  /** Entries in the journal on disk (at setup: what a crash left). */
  async count (): Promise<number> {
    let n = 0
    for await (const _ of this.ctx.db.keys(prefixRange(Buffer.of(KIND.JOURNAL)))) n++
    return n
  }

  /** Re-publishes every entry a crash left, in order; returns how many. */
  async replay (publish: (packet: StoredPacket) => Promise<void>): Promise<number> {
    const entries: Array<[Buffer, StoredPacket]> = []
    for await (const [key, value] of this.ctx.db.iterator(prefixRange(Buffer.of(KIND.JOURNAL)))) {
      const packet = this.ctx.decodeOrQuarantine(key, value, decodePacket, (d) => isRoutablePublish(d) ? undefined : 'journal entry is not a routable publish')
      if (packet !== undefined) entries.push([key, packet])
    }
    for (const [key, packet] of entries) {
      const seq = readSeqAtEnd(key)
      this.open.add(seq)
      this.link(packet, seq)
      await publish(packet)
      await this.complete(packet)
      this.replayed++
    }
    // the enqueues that end the entries are not awaited by the publish path: replay is done when they have landed
    await this.ctx.queue.settled()
    if (entries.length > 0) this.ctx.logger.warn('replayed acknowledged messages left by a crash', { count: entries.length })
    return entries.length
  }

  private link (packet: StoredPacket, seq: number): void {
    const payload = packet.payload
    if (typeof payload === 'object' && payload !== null) this.byPayload.set(payload, seq)
    this.byPacket.set(packet, seq)
  }
}

/** The fields of a publish worth replaying (not wire lengths or aedes internals). */
function journalRecord (clientId: string, packet: StoredPacket): StoredPacket {
  const out: StoredPacket = {
    cmd: 'publish',
    topic: packet.topic,
    payload: packet.payload ?? Buffer.alloc(0),
    qos: packet.qos,
    retain: packet.retain === true,
    dup: false,
    clientId
  }
  if (packet.properties !== undefined) out.properties = packet.properties
  return out
}
