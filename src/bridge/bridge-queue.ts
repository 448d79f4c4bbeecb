// The disk-backed store-and-forward queue of one bridge. LevelDB is the truth:
// a message is in the queue once its put is written, and leaves it only when
// the upstream acknowledged it (PUBACK for QoS 1, PUBCOMP for QoS 2) or the
// full-queue policy dropped it. Memory use is bounded: 4 bytes of size per
// queued message, plus a window of at most WINDOW_MESSAGES loaded records;
// the rest stays on disk (mosquitto's bridge queue is RAM only, #1952).
import type { Logger } from '../observability/logger.ts'
import type { BridgeStore, GroupCommitWriter, StoreOp } from './bridge-store.ts'
import { decodeQueueRecord, encodeQueueRecord, type QueuedMessage } from './queue-record.ts'

/** What to do with a new message when the queue is full. */
export type WhenFull = 'drop-oldest' | 'refuse-new'

/** Bounds of one bridge's queue. */
export interface QueueLimits {
  /** Most bytes on disk (keys + records). */
  maxBytes: number
  /** Most messages. */
  maxMessages: number
  whenFull: WhenFull
}

/** A queued message loaded into memory for sending. */
export interface QueueEntry {
  seq: number
  msg: QueuedMessage
  /** Bytes it takes in LevelDB (key + value). */
  size: number
  /** Acknowledged upstream or dropped: never send it (again). */
  gone: boolean
}

/** Counters of one queue. */
export interface QueueCounters {
  enqueued: number
  delivered: number
  /** Dropped to make room (drop-oldest). */
  dropped: number
  /** Refused because the queue was full (refuse-new) or the message alone is larger than maxBytes. */
  refused: number
  /** Records on disk that could not be decoded (deleted and skipped). */
  corrupt: number
}

/** Records held in memory for sending; bounds RAM whatever the backlog on disk. */
const WINDOW_MESSAGES = 1024
const SEQ_DIGITS = 12 // hex: 2^48 messages, centuries at 10k msg/s

/** One bridge's persistent FIFO. Keys are `<bridge>!<seq as 12 hex digits>`, so LevelDB order is queue order. */
export class BridgeQueue {
  readonly name: string
  readonly counters: QueueCounters = { enqueued: 0, delivered: 0, dropped: 0, refused: 0, corrupt: 0 }
  /** Messages queued (including those in flight upstream). */
  count = 0
  /** Bytes queued. */
  bytes = 0
  /** Called when entries may be available to send (after an enqueue or a load from disk). */
  onReady: () => void = () => {}

  private limits: QueueLimits
  private readonly store: BridgeStore
  private readonly writer: GroupCommitWriter
  private readonly logger: Logger
  private readonly sizes = new SizeRing()
  /** Next sequence number to assign. */
  private tailSeq = 0
  /** Every seq below this is written to LevelDB (batches are written in order). */
  private durableTail = 0
  /** Loaded records, in seq order, starting at the oldest one not yet gone. */
  private loaded: QueueEntry[] = []
  /** Index in `loaded` of the next record to send. */
  private cursor = 0
  /** First seq not loaded yet. */
  private nextLoadSeq = 0
  private refilling = false
  private closed = false

  private constructor (name: string, store: BridgeStore, writer: GroupCommitWriter, limits: QueueLimits, logger: Logger) {
    this.name = name
    this.store = store
    this.writer = writer
    this.limits = limits
    this.logger = logger
  }

  /** Opens the queue of bridge `name`, counting what a previous run left on disk. */
  static async open (name: string, store: BridgeStore, writer: GroupCommitWriter, limits: QueueLimits, logger: Logger): Promise<BridgeQueue> {
    const q = new BridgeQueue(name, store, writer, limits, logger)
    await q.scan()
    await q.refill()
    return q
  }

  /** Changes the bounds (reload); a smaller bound applies from the next enqueue. */
  setLimits (limits: QueueLimits): void {
    this.limits = limits
  }

  /**
   * Adds a message; resolves once it is written to LevelDB. Returns false when
   * it was refused (queue full under refuse-new, or larger than maxBytes).
   */
  async enqueue (msg: QueuedMessage): Promise<boolean> {
    if (this.closed) return false
    const seq = this.tailSeq
    const key = this.keyOf(seq)
    const value = encodeQueueRecord(msg)
    const size = key.length + value.length
    const ops: StoreOp[] = []
    if (size > this.limits.maxBytes) { this.counters.refused++; return false }
    while (this.count + 1 > this.limits.maxMessages || this.bytes + size > this.limits.maxBytes) {
      if (this.limits.whenFull === 'refuse-new') { this.counters.refused++; return false }
      const dropped = this.dropHead()
      if (dropped === undefined) break
      ops.push({ type: 'del', key: this.keyOf(dropped) })
      if (this.counters.dropped % 10_000 === 1) this.logger.warn('bridge queue full; oldest messages dropped', { bridge: this.name, dropped: this.counters.dropped, messages: this.count, bytes: this.bytes })
    }
    this.tailSeq++
    this.sizes.push(size)
    this.count++
    this.bytes += size
    this.counters.enqueued++
    if (this.nextLoadSeq === seq && this.loaded.length < WINDOW_MESSAGES) {
      this.loaded.push({ seq, msg: { ...msg, payload: value.subarray(value.length - msg.payload.length) }, size, gone: false })
      this.nextLoadSeq = seq + 1
    }
    ops.push({ type: 'put', key, value })
    await this.writer.write(ops)
    if (seq + 1 > this.durableTail) this.durableTail = seq + 1
    this.onReady()
    return true
  }

  /** The next record to send, or undefined (then onReady fires when there is one). */
  next (): QueueEntry | undefined {
    while (this.cursor < this.loaded.length) {
      const e = this.loaded[this.cursor++]
      if (!e.gone) return e
    }
    if (Math.max(this.nextLoadSeq, this.sizes.headSeq) < this.durableTail && !this.refilling) {
      void this.refill().then((loaded) => { if (loaded > 0) this.onReady() })
    }
    return undefined
  }

  /** Sends everything loaded again from the oldest (a new upstream connection). */
  rewind (): void {
    this.compact()
    this.cursor = 0
  }

  /** The upstream acknowledged `entry`: delete it. */
  ack (entry: QueueEntry): void {
    if (entry.gone) return
    this.remove(entry.seq, entry.size)
    entry.gone = true
    this.counters.delivered++
    this.writer.writeLater([{ type: 'del', key: this.keyOf(entry.seq) }])
    this.compact()
  }

  /** Wall-clock ms of the oldest queued message, when known. */
  oldestEnqueuedAt (): number | undefined {
    if (this.count === 0) return undefined
    const head = this.loaded.find((e) => !e.gone)
    return head?.seq === this.sizes.headSeq ? head.msg.enqueuedAt : undefined
  }

  /** Stops accepting messages; pending writes are flushed by the writer's owner. */
  close (): void {
    this.closed = true
  }

  private keyOf (seq: number): string {
    return `${this.name}!${seq.toString(16).padStart(SEQ_DIGITS, '0')}`
  }

  /** Drops the oldest message (drop-oldest policy); returns its seq. */
  private dropHead (): number | undefined {
    this.sizes.skipGone()
    if (this.sizes.length === 0) return undefined
    const seq = this.sizes.headSeq
    const size = this.sizes.get(seq)
    this.remove(seq, size)
    const e = this.loaded.find((x) => x.seq === seq)
    if (e !== undefined) e.gone = true
    this.counters.dropped++
    this.compact()
    return seq
  }

  private remove (seq: number, size: number): void {
    this.sizes.markGone(seq)
    this.count--
    this.bytes -= size
    this.sizes.skipGone()
  }

  private compact (): void {
    let n = 0
    while (n < this.loaded.length && this.loaded[n].gone) n++
    if (n > 0) { this.loaded.splice(0, n); this.cursor = Math.max(0, this.cursor - n) }
  }

  /** Counts what is on disk: sizes of every record, first and last seq. */
  private async scan (): Promise<void> {
    const it = this.store.iterator({ gte: `${this.name}!`, lt: `${this.name}"` })
    const bad: StoreOp[] = []
    let first = true
    try {
      for (let batch = await it.nextv(1000); batch.length > 0; batch = await it.nextv(1000)) {
        for (const [key, value] of batch) {
          const seq = Number.parseInt(key.slice(this.name.length + 1), 16)
          if (!Number.isSafeInteger(seq) || key.length !== this.name.length + 1 + SEQ_DIGITS || seq < this.tailSeq) {
            bad.push({ type: 'del', key })
            continue
          }
          if (first) { this.sizes.reset(seq); first = false }
          while (this.sizes.headSeq + this.sizes.length < seq) this.sizes.push(0) // acked before a crash
          this.sizes.push(key.length + value.length)
          this.count++
          this.bytes += key.length + value.length
          this.tailSeq = seq + 1
        }
      }
    } finally {
      await it.close()
    }
    if (first) this.sizes.reset(0)
    this.durableTail = this.tailSeq
    this.nextLoadSeq = this.sizes.headSeq
    if (bad.length > 0) {
      this.counters.corrupt += bad.length
      this.logger.warn('bridge queue keys not understood were deleted', { bridge: this.name, count: bad.length })
      await this.writer.write(bad)
    }
  }

  /** Loads the next records from disk into the send window. */
  private async refill (): Promise<number> {
    if (this.refilling || this.closed) return 0
    this.refilling = true
    const before = this.loaded.length
    try {
      const start = Math.max(this.nextLoadSeq, this.sizes.headSeq)
      const end = this.durableTail
      const limit = WINDOW_MESSAGES - this.loaded.length
      if (start >= end || limit <= 0) return 0
      const it = this.store.iterator({ gte: this.keyOf(start), lt: this.keyOf(end), limit })
      // nextv may return fewer rows than asked (classic-level caps a batch by bytes): read until the range ends.
      const rows: Array<[string, Buffer]> = []
      try {
        while (rows.length < limit) {
          const batch = await it.nextv(limit - rows.length)
          if (batch.length === 0) break
          for (const row of batch) rows.push(row)
        }
      } finally { await it.close() }
      const bad: StoreOp[] = []
      for (const [key, value] of rows) {
        const seq = Number.parseInt(key.slice(this.name.length + 1), 16)
        if (seq < this.nextLoadSeq || this.sizes.isGone(seq)) continue
        try {
          this.loaded.push({ seq, msg: decodeQueueRecord(value), size: key.length + value.length, gone: false })
        } catch (err) {
          this.counters.corrupt++
          this.logger.warn('bridge queue record is corrupt; deleted', { bridge: this.name, key, error: (err as Error).message })
          this.remove(seq, key.length + value.length)
          bad.push({ type: 'del', key })
        }
      }
      this.nextLoadSeq = rows.length === limit ? Number.parseInt(rows[rows.length - 1][0].slice(this.name.length + 1), 16) + 1 : end
      if (bad.length > 0) this.writer.writeLater(bad)
      return this.loaded.length - before
    } catch (err) {
      // The store closing under a load (shutdown) is not an error; anything else is logged and retried on the next send.
      if (!this.closed) this.logger.warn('bridge queue could not load from disk', { bridge: this.name, error: (err as Error).message })
      return 0
    } finally {
      this.refilling = false
    }
  }
}

/** Sizes of the queued records by seq, 4 bytes each; 0 = gone (acknowledged or dropped). */
class SizeRing {
  private buf = new Uint32Array(1024)
  private start = 0
  /** Number of slots from headSeq (gone ones included). */
  length = 0
  /** Seq of the first slot. */
  headSeq = 0

  reset (seq: number): void {
    this.start = 0
    this.length = 0
    this.headSeq = seq
  }

  push (size: number): void {
    if (this.length === this.buf.length) {
      const bigger = new Uint32Array(this.buf.length * 2)
      for (let i = 0; i < this.length; i++) bigger[i] = this.buf[(this.start + i) % this.buf.length]
      this.buf = bigger
      this.start = 0
    }
    this.buf[(this.start + this.length) % this.buf.length] = size
    this.length++
  }

  private index (seq: number): number {
    return (this.start + seq - this.headSeq) % this.buf.length
  }

  get (seq: number): number {
    if (seq < this.headSeq || seq >= this.headSeq + this.length) return 0
    return this.buf[this.index(seq)]
  }

  isGone (seq: number): boolean {
    return this.get(seq) === 0
  }

  markGone (seq: number): void {
    if (seq >= this.headSeq && seq < this.headSeq + this.length) this.buf[this.index(seq)] = 0
  }

  /** Advances past gone slots at the head. */
  skipGone (): void {
    while (this.length > 0 && this.buf[this.start] === 0) {
      this.start = (this.start + 1) % this.buf.length
      this.length--
      this.headSeq++
    }
  }
}
