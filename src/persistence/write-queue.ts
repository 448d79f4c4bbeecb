// Every write of the persistence goes through one queue that group-commits:
// writes that arrive while a batch is on its way to LevelDB are merged into the
// next batch, so `sync: always` costs one fsync per batch, not one per message
// (an SD card does a few hundred fsyncs per second at best).
//
// Modes (persistence.sync):
//   always  every batch is written with { sync: true } before its callers resume
//   batch   batches reach the OS (LevelDB's log write) before callers resume, so a
//           process kill loses nothing; a synced write every `syncInterval` ms
//           when anything changed bounds what a power cut can lose
//   never   no explicit fsync; the OS flushes when it wants
//
// It is the store's one ordered write path (issue 11). A write that must read
// first (an enqueue whose client's queue figures are not loaded yet) takes its
// place at once with writeAfter(): its read runs when everything before it has
// landed, and everything after it waits for its ops. So settled() sees every
// mutation any method has started, and replay, drain and close wait for exactly
// that. (Before, such enqueues waited in a promise chain outside the queue, and
// replay and close resolved while they were pending.)
import type { Logger } from '../observability/logger.ts'

/** Durability mode of persistence.sync. */
export type SyncMode = 'always' | 'batch' | 'never'

/** One put or del, on the root database or on a sublevel of it. */
export interface WriteOp {
  type: 'put' | 'del'
  key: unknown
  value?: unknown
  /** A sublevel of the same database: its prefix and encodings apply. */
  sublevel?: unknown
  /**
   * A put of a key that never existed before (a queued message under a new
   * sequence number): when a del of the same key follows in the same batch,
   * the put, the del and any put of that key between them are left out of
   * the batch, whose effect is the same (the key does not exist after it).
   */
  fresh?: boolean
}

/**
 * How long a lazy write (see write()) may wait for company: a write nobody
 * needs on disk at once (a queued copy of a journaled QoS 1 message) waits up
 * to this long, so that the acknowledgement of its subscriber, usually less
 * than a millisecond away, lands in the same batch and both are left out.
 * Any other write, settled(), a gate or a sync ends the wait at once.
 */
export const LAZY_WRITE_MS = 25

/** A chained batch of classic-level (5x the ops/s of an array batch, measured: 78k vs 14k). */
export interface ChainedBatchLike {
  put: (key: any, value: any, options?: { sublevel?: any }) => unknown
  del: (key: any, options?: { sublevel?: any }) => unknown
  write: (options: { sync: boolean }) => Promise<void>
}

/** The part of classic-level the queue needs. */
export interface BatchTarget {
  batch: () => ChainedBatchLike
}

// One promise per segment, shared by every write in it: they land together.
// (A promise and a resolver pair per write were 430 bytes of garbage per
// queued message, issue 11's enqueue profile.)
interface Waiter { promise: Promise<void>, resolve: () => void, reject: (err: Error) => void }

function createWaiter (): Waiter {
  let resolve!: () => void
  let reject!: (err: Error) => void
  const promise = new Promise<void>((res, rej) => { resolve = res; reject = rej })
  return { promise, resolve, reject }
}

/**
 * A write whose ops can only be built after a read (an enqueue that needs its
 * client's queue figures loaded first). It holds its place in the queue: the
 * read starts once every write before it has landed, and every write after it
 * waits until its ops are built.
 */
interface Gate {
  prepare: () => Promise<void>
  build: () => WriteOp[]
  started: boolean
}

/** Writes queued between two gates (or at the head / tail). */
interface Segment {
  gate?: Gate
  ops: WriteOp[]
  /** Settles when the segment's batch has landed (or failed); made by the first write that waits on it. */
  waiter?: Waiter
  sync: boolean
  /** Holds a write someone needs landed soon (not only lazy ones): flush at once. */
  urgent?: boolean
}

/** Counters for stats(). */
export interface WriteQueueStats {
  batches: number
  ops: number
  syncs: number
  lastSyncAt: number | undefined
  /** Batches LevelDB refused (full disk, I/O error): their writers were told, nothing was acknowledged on them. */
  failures: number
  /** Seconds spent in synced batches (for the mean sync latency) and in the last one. */
  syncSeconds: number
  lastSyncSeconds: number
  /** Ops left out of batches because a fresh put and its del met in one batch (WriteOp.fresh). */
  cancelled: number
}

/** A group-committing writer honouring the sync mode. */
export class WriteQueue {
  readonly mode: SyncMode
  private readonly db: BatchTarget
  private readonly logger: Logger
  private readonly now: () => number
  // FIFO of segments; the last one collects new writes. A gated segment
  // blocks the ones after it until its ops are built.
  private segments: Segment[] = [{ ops: [], sync: false }]
  // Ops that must land no later than any write queued after them (the
  // sequence reserve, store-context.ts): joined to the next batch, whatever it is.
  private headOps: WriteOp[] = []
  private inFlight: Promise<void> | undefined
  private scheduled = false
  private dirty = false
  private timer: NodeJS.Timeout | undefined
  private closed = false
  private gates = 0
  private lazyTimer: NodeJS.Timeout | undefined
  readonly counters: WriteQueueStats = { batches: 0, ops: 0, syncs: 0, lastSyncAt: undefined, failures: 0, syncSeconds: 0, lastSyncSeconds: 0, cancelled: 0 }

  private readonly syncMarkerKey: unknown

  constructor (options: { db: BatchTarget, mode: SyncMode, syncInterval: number, logger: Logger, syncMarkerKey: unknown, now?: () => number }) {
    this.db = options.db
    this.syncMarkerKey = options.syncMarkerKey
    this.mode = options.mode
    this.logger = options.logger
    this.now = options.now ?? Date.now
    if (this.mode === 'batch') {
      this.timer = setInterval(() => { this.syncIfDirty().catch(() => {}) }, options.syncInterval)
      this.timer.unref()
    }
  }

  /**
   * Queues operations; resolves once they are written as durably as the mode
   * promises. `lazy`: nobody needs them on disk at once (something else on
   * disk covers them until they land: the journal entry of a QoS 1 message,
   * whose delete is among them); they keep their place in the order, but
   * their batch may wait up to LAZY_WRITE_MS for other writes.
   */
  write (ops: readonly WriteOp[], options: { sync?: boolean, lazy?: boolean } = {}): Promise<void> {
    if (this.closed) return Promise.reject(new Error('persistence is closed'))
    if (ops.length === 0 && options.sync !== true) return Promise.resolve()
    const seg = this.tail()
    for (const op of ops) seg.ops.push(op)
    if (options.sync === true) seg.sync = true
    if (options.lazy !== true) seg.urgent = true
    seg.waiter ??= createWaiter()
    this.schedule()
    return seg.waiter.promise
  }

  /**
   * Queues a write whose ops are built after `prepare` (a read) has run. It
   * takes its place in the order now: `prepare` runs once every write queued
   * before it has landed, `build` runs synchronously right before its batch,
   * and writes queued after it land after it. Resolves once it has landed; a
   * failed `prepare` rejects it and writes nothing.
   */
  writeAfter (prepare: () => Promise<void>, build: () => WriteOp[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('persistence is closed'))
    const waiter = createWaiter()
    this.segments.push({ gate: { prepare, build, started: false }, ops: [], waiter, sync: false, urgent: true })
    this.segments.push({ ops: [], sync: false })
    this.gates++
    this.schedule()
    return waiter.promise
  }

  /** Whether a gated write (writeAfter) is still waiting for its ops. */
  get gated (): boolean {
    return this.gates > 0
  }

  /**
   * Joins `op` to the next batch that is written, before any write queued
   * after this call: for a record that must be on disk no later than the
   * writes that depend on it (the sequence reserve).
   */
  writeFirst (op: WriteOp): void {
    this.headOps.push(op)
  }

  /**
   * Resolves once every write queued before this call has landed (as durably
   * as the mode promises), gated writes included: the one "settled" point that
   * replay, drain and close wait for.
   */
  settled (): Promise<void> {
    if (this.inFlight === undefined && this.isEmpty()) return Promise.resolve()
    const seg = this.tail()
    seg.urgent = true
    seg.waiter ??= createWaiter()
    this.schedule()
    return seg.waiter.promise
  }

  /** settled() under its older name. */
  barrier (): Promise<void> {
    return this.settled()
  }

  /** In batch mode: fsync now when something was written since the last sync. */
  async syncIfDirty (): Promise<void> {
    if (!this.dirty || this.closed) return
    await this.write([], { sync: true })
  }

  /** Waits for every queued write (gated ones too); the final sync happens unless the mode is never. */
  async close (): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
    if (this.lazyTimer !== undefined) clearTimeout(this.lazyTimer)
    this.lazyTimer = undefined
    await this.settled().catch(() => {})
    // a clean shutdown leaves nothing to a power cut (except in never mode, by definition)
    if (this.mode !== 'never' && this.dirty) await this.write([], { sync: true }).catch(() => {})
    await this.settled().catch(() => {})
    this.closed = true
  }

  private tail (): Segment {
    const last = this.segments[this.segments.length - 1]
    if (last.gate === undefined) return last
    const seg: Segment = { ops: [], sync: false }
    this.segments.push(seg)
    return seg
  }

  private isEmpty (): boolean {
    return this.headOps.length === 0 && this.segments.every((s) => s.gate === undefined && s.waiter === undefined)
  }

  private async commit (ops: readonly WriteOp[], sync: boolean): Promise<void> {
    const batch = this.db.batch()
    for (const op of ops) {
      const options = op.sublevel === undefined ? undefined : { sublevel: op.sublevel }
      if (op.type === 'put') batch.put(op.key, op.value, options)
      else batch.del(op.key, options)
    }
    await batch.write({ sync })
  }

  /** Whether anything waiting needs to land soon (not only lazy writes). */
  private hasUrgent (): boolean {
    return this.segments.some((s) => s.urgent === true || s.gate !== undefined)
  }

  private schedule (): void {
    if (this.scheduled || this.inFlight !== undefined) return
    if (!this.hasUrgent()) {
      // only lazy writes (and perhaps the sequence reserve): wait for company, not forever
      if (this.lazyTimer === undefined && !this.isEmpty()) {
        this.lazyTimer = setTimeout(() => { this.lazyTimer = undefined; this.flush() }, LAZY_WRITE_MS)
      }
      return
    }
    this.scheduled = true
    // A microtask lets every write issued in the same turn join this batch.
    queueMicrotask(() => { this.scheduled = false; this.flush() })
  }

  /** Starts the gate at the head: its read runs now that everything before it has landed. */
  private open (seg: Segment, gate: Gate): void {
    gate.started = true
    gate.prepare().then(() => gate.build()).then((ops) => {
      seg.ops = ops
      seg.gate = undefined
      this.gates--
      this.schedule()
    }, (err: Error) => {
      this.gates--
      const i = this.segments.indexOf(seg)
      if (i >= 0) this.segments.splice(i, 1)
      seg.waiter?.reject(err)
      if (this.segments.length === 0) this.segments.push({ ops: [], sync: false })
      this.schedule()
    })
  }

  private flush (): void {
    if (this.inFlight !== undefined) return
    if (this.lazyTimer !== undefined) { clearTimeout(this.lazyTimer); this.lazyTimer = undefined }
    // Take the segments at the head up to the first gate still waiting for its ops.
    let ops: WriteOp[] = this.headOps
    const waiters: Waiter[] = []
    let sync = this.mode === 'always'
    let taken = 0
    for (const seg of this.segments) {
      if (seg.gate !== undefined) {
        if (waiters.length === 0 && ops.length === 0 && !seg.gate.started) this.open(seg, seg.gate)
        break
      }
      if (ops.length === 0) ops = seg.ops
      else for (const op of seg.ops) ops.push(op)
      if (seg.waiter !== undefined) waiters.push(seg.waiter)
      if (seg.sync) sync = true
      taken++
    }
    if (waiters.length === 0 && ops.length === 0) {
      // only empty segments before a gate (or nothing at all): drop them
      if (taken > 0 && taken < this.segments.length) this.segments.splice(0, taken)
      return
    }
    this.segments.splice(0, taken)
    if (this.segments.length === 0 || this.segments[this.segments.length - 1].gate !== undefined) this.segments.push({ ops: [], sync: false })
    this.headOps = []
    const before = ops.length
    ops = cancelFreshPairs(ops)
    this.counters.cancelled += before - ops.length
    const started = this.now()
    const startedMono = performance.now()
    // LevelDB skips an empty batch, so a sync on its own writes a small marker
    if (sync && ops.length === 0) ops.push({ type: 'put', key: this.syncMarkerKey, value: Buffer.from(String(started)) })
    this.inFlight = (ops.length === 0 ? Promise.resolve() : this.commit(ops, sync))
      .then(() => {
        this.counters.batches++
        this.counters.ops += ops.length
        if (sync) {
          this.counters.syncs++
          this.counters.lastSyncAt = started
          this.counters.lastSyncSeconds = (performance.now() - startedMono) / 1000
          this.counters.syncSeconds += this.counters.lastSyncSeconds
          // everything written before this batch started is now on disk
          this.dirty = false
        } else if (ops.length > 0) {
          this.dirty = true
        }
        for (const w of waiters) w.resolve()
      }, (err: Error) => {
        this.counters.failures++
        this.logger.error('write failed', { ops: ops.length, error: err.message })
        for (const w of waiters) w.reject(err)
      })
      .finally(() => {
        this.inFlight = undefined
        if (this.isEmpty()) return
        if (this.hasUrgent()) this.flush()
        else this.schedule()
      })
  }
}

/**
 * Leaves out of one batch every fresh put whose key a later del of the same
 * batch removes again, with that del and any put of the key between them: the
 * batch then changes the database exactly as the full list would (the key did
 * not exist before the fresh put and does not after the del). A queued QoS 1
 * message acknowledged by its online subscriber before its queue write left
 * is never written at all. Returns `ops` itself when nothing is left out.
 */
export function cancelFreshPairs (ops: WriteOp[]): WriteOp[] {
  let open: Map<string, number[]> | undefined
  let drop: Set<number> | undefined
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]
    if (op.sublevel !== undefined || !Buffer.isBuffer(op.key)) continue
    if (op.type === 'put' && op.fresh === true) {
      open ??= new Map()
      open.set(op.key.toString('latin1'), [i])
      continue
    }
    if (open === undefined) continue
    const k = op.key.toString('latin1')
    const chain = open.get(k)
    if (chain === undefined) continue
    if (op.type === 'put') { chain.push(i); continue }
    drop ??= new Set()
    for (const j of chain) drop.add(j)
    drop.add(i)
    open.delete(k)
  }
  if (drop === undefined) return ops
  return ops.filter((_, i) => !drop!.has(i))
}
