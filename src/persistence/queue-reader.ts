// Reads one client's queue in order, a batch at a time: the O range (queued
// messages) merged with the U range (packet ids, PUBREL phases), which is
// read first and only for clients that may hold delivery states. A batch is
// decoded synchronously from one LevelDB nextv(): the queue replay of a
// reconnecting client pays one promise per batch, not one per message at
// each of three async generators as before (issue 11's drain profile).
import { ClientIndex, counterKeyOf, linkEntry, type Entry } from './client-index.ts'
import { decodeOutgoingState, decodePacket, isRoutablePublish, type OutgoingState, type StoredPacket } from './record-codec.ts'
import type { StoreContext } from './store-context.ts'
import { clientPrefix, KIND, prefixRange, readSeqAtEnd } from './store-keys.ts'

/** Records per LevelDB read (one nextv). */
const BATCH = 256

type RecordIterator = ReturnType<StoreContext['db']['iterator']>

/** The merged O and U ranges of one client, in sequence order. */
export class QueueReader {
  private readonly ctx: StoreContext
  private readonly clientId: string
  /** Indexes every message read (a queue replay); undefined for a lookup scan. */
  private readonly idx: ClientIndex | undefined
  private readonly readStates: boolean
  private readonly states = new Map<number, OutgoingState>()
  private readonly known = new Map<number, Entry>()
  private pubrels: number[] = []
  private p = 0
  private it: RecordIterator | undefined
  private ended = false

  /** `readStates` false: the client has no U record (not a state holder), its U range is not read. */
  constructor (ctx: StoreContext, clientId: string, idx: ClientIndex | undefined, readStates: boolean) {
    this.ctx = ctx
    this.clientId = clientId
    this.idx = idx
    this.readStates = readStates
  }

  /** Reads the U range and opens the O range. */
  async open (): Promise<void> {
    const { ctx, idx, states } = this
    if (this.readStates) {
      for await (const [key, value] of ctx.db.iterator(prefixRange(clientPrefix(KIND.OUT_STATE, this.clientId)))) {
        const state = ctx.decodeOrQuarantine(key, value, decodeOutgoingState)
        if (state !== undefined) states.set(readSeqAtEnd(key), state)
      }
    }
    this.pubrels = [...states].filter(([, s]) => s.pubrel).map(([seq]) => seq).sort((a, b) => a - b)
    // Every packet id the client's stored messages hold is known before the
    // replay yields its first message: aedes gives a message sent for the
    // first time a new id (numbered per connection from 1), and one stored
    // further down the queue could hold that id already [MQTT-2.2.1-3]; two
    // messages under one id reach the receiver as one, or one twice.
    if (idx !== undefined) {
      for (const [seq, state] of states) {
        if (state.messageId === undefined || idx.byMessageId.has(state.messageId)) continue
        const entry: Entry = { seq, pubrel: state.pubrel, messageId: state.messageId, stateStored: true }
        idx.byMessageId.set(state.messageId, entry)
        this.known.set(seq, entry)
      }
      idx.storedIdsKnown = true
    }
    // fillCache false: a replayed message is read once and then deleted; its
    // blocks in LevelDB's cache (persistence.cacheSize) only cost memory
    this.it = ctx.db.iterator({ ...prefixRange(clientPrefix(KIND.OUT, this.clientId)), fillCache: false })
  }

  /**
   * The next packets in order (PUBRELs and publishes; possibly none when every
   * record of a batch was skipped), or undefined once everything was read
   * (the iterator is closed by then).
   */
  async next (): Promise<StoredPacket[] | undefined> {
    if (this.ended || this.it === undefined) return undefined
    const batch = await this.it.nextv(BATCH) as Array<[Buffer, Buffer]>
    const out: StoredPacket[] = []
    if (batch.length === 0) {
      this.ended = true
      await this.close()
      while (this.p < this.pubrels.length) out.push(this.pubrelEntry(this.pubrels[this.p++]))
      return out.length === 0 ? undefined : out
    }
    const { ctx, idx, states, pubrels } = this
    for (const [key, value] of batch) {
      const seq = readSeqAtEnd(key)
      while (this.p < pubrels.length && pubrels[this.p] < seq) out.push(this.pubrelEntry(pubrels[this.p++]))
      const state = states.get(seq)
      if (state?.pubrel === true) continue // its PUBREL comes in order above or below
      const packet = ctx.decodeOrQuarantine(key, value, decodePacket, (d) => isRoutablePublish(d) ? undefined : 'not a routable publish (topic missing or invalid)')
      if (packet === undefined) continue
      const counterKey = counterKeyOf(packet)
      // a message this process is delivering live: its state is newer than the snapshot's
      const live = counterKey !== undefined ? idx?.byCounter.get(counterKey) : undefined
      if (live !== undefined && live.seq === seq) {
        if (live.pubrel === true) continue
        if (live.messageId !== undefined) packet.messageId = live.messageId
        live.packet = packet
        linkEntry(packet, live)
        out.push(packet)
        continue
      }
      if (state !== undefined) packet.messageId = state.messageId
      const entry: Entry = Object.assign(this.known.get(seq) ?? { seq }, { packet, messageId: state?.messageId, counterKey, stateStored: state !== undefined })
      idx?.add(entry)
      linkEntry(packet, entry)
      out.push(packet)
    }
    return out
  }

  /** Closes the O range iterator (idempotent; next() closes it at the end). */
  async close (): Promise<void> {
    const it = this.it
    this.it = undefined
    this.ended = true
    if (it !== undefined) await it.close()
  }

  private pubrelEntry (seq: number): StoredPacket {
    const entry: Entry = this.known.get(seq) ?? { seq, pubrel: true, messageId: this.states.get(seq)?.messageId, stateStored: true }
    this.idx?.add(entry)
    const out: StoredPacket = { cmd: 'pubrel', messageId: entry.messageId }
    linkEntry(out, entry)
    return out
  }
}
