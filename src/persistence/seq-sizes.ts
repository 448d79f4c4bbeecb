// The queued messages of one client as (sequence, stored bytes) pairs, oldest
// first: the per-message part of the offline-queue figures (queue-bounds.ts).
//
// Why not a Map<number, number>: it cost ~24 bytes of V8 heap per queued
// message (measured, issue 11: 500k queued took 11.3 MiB more old space than
// 50k). Queues are bounded by disk, so a Pi Zero 2 W (64 MiB heap) with a
// long outage ran out of heap around two million queued messages, and a
// restart ran out again while counting them. Typed arrays hold 12 bytes per
// message outside the V8 heap.
//
// A short queue is one pair of arrays that grows by half; past `chunk` slots
// (256: 3 KB) the queue is a list of fixed-size chunks, so a long queue never
// copies itself into an array half again as big (a million queued messages
// would need 12 MB and 18 MB at once), chunks of one size are reused by any
// queue, and a queue drained from its head frees them one by one. Measured,
// 500k queued over 500 clients on rpi-zero-2w: malloc's heap grew by 8.7 MiB
// for 6.1 MiB of arrays (one growing array each: 9.6-10.0 MiB in two runs,
// one of them with chunks of 1024, which these queues of 1000 never reach).
//
// Slots [head, end) are sorted by sequence (a client's sequences only grow;
// a dropped message restored by outgoing-store.ts goes back to its place).
// A removed message leaves a 0 in its size slot until the slots are packed
// (stored sizes are never 0: a record has a header).

const MIN_CAPACITY = 8

export class SeqSizes {
  private seqChunks: Float64Array[] = []
  private sizeChunks: Int32Array[] = []
  private readonly shift: number
  private readonly mask: number
  private head = 0
  private end = 0
  /** Messages held. */
  size = 0

  /** `chunk`: slots per chunk, a power of two (small ones in tests reach the chunk code). */
  constructor (private readonly chunk = 256) {
    if (!Number.isInteger(Math.log2(chunk)) || chunk < MIN_CAPACITY) throw new RangeError(`chunk must be a power of two >= ${MIN_CAPACITY}: got ${chunk}`)
    this.shift = Math.log2(chunk)
    this.mask = chunk - 1
  }

  /** The stored value of `seq` (negative: inflight), or undefined. */
  get (seq: number): number | undefined {
    const i = this.find(seq)
    return i < 0 ? undefined : this.sizeAt(i)
  }

  /** Sets the value of `seq` (not 0), appending or inserting it in sequence order. */
  set (seq: number, value: number): void {
    if (value === 0 || !Number.isInteger(value)) throw new RangeError(`a queued message's stored size must be a non-zero integer: got ${value}`)
    if (this.size === 0 || seq > this.seqAt(this.end - 1)) {
      this.reserve()
      this.put(this.end++, seq, value)
      this.size++
      return
    }
    const i = this.lowerBound(seq)
    if (i < this.end && this.seqAt(i) === seq) {
      if (this.sizeAt(i) === 0) this.size++
      this.put(i, seq, value)
      return
    }
    // an older sequence than the newest (a restore): make a slot at its place
    this.reserve()
    const at = this.lowerBound(seq)
    for (let j = this.end; j > at; j--) this.put(j, this.seqAt(j - 1), this.sizeAt(j - 1))
    this.put(at, seq, value)
    this.end++
    this.size++
  }

  /** Removes `seq`; its value, or undefined when it was not held. */
  delete (seq: number): number | undefined {
    const i = this.find(seq)
    if (i < 0) return undefined
    const value = this.sizeAt(i)
    this.put(i, seq, 0)
    this.size--
    if (this.size === 0) { this.release(); return value }
    while (this.sizeAt(this.head) === 0) this.head++
    while (this.sizeAt(this.end - 1) === 0) this.end--
    this.freeEnds()
    // mostly holes (acknowledged out of order, drops from the middle), or a
    // single array shrunk to a quarter: pack
    const span = this.end - this.head
    if (span > 2 * this.size + this.chunk || (this.seqChunks.length === 1 && this.capacity() > 4 * this.size + MIN_CAPACITY)) this.pack()
    return value
  }

  /** The held messages, oldest first: [sequence, value]. */
  * entries (): IterableIterator<[number, number]> {
    for (let i = this.head; i < this.end && this.size > 0; i++) {
      const v = this.sizeAt(i)
      if (v !== 0) yield [this.seqAt(i), v]
    }
  }

  private seqAt (i: number): number {
    return this.seqChunks[i >>> this.shift][i & this.mask]
  }

  private sizeAt (i: number): number {
    return this.sizeChunks[i >>> this.shift][i & this.mask]
  }

  private put (i: number, seq: number, value: number): void {
    this.seqChunks[i >>> this.shift][i & this.mask] = seq
    this.sizeChunks[i >>> this.shift][i & this.mask] = value
  }

  private capacity (): number {
    const n = this.seqChunks.length
    return n === 1 ? this.seqChunks[0].length : n * this.chunk
  }

  private find (seq: number): number {
    // the usual lookup is an enqueue's new, newest sequence: not held
    if (this.size === 0 || seq > this.seqAt(this.end - 1)) return -1
    const i = this.lowerBound(seq)
    return i < this.end && this.seqAt(i) === seq && this.sizeAt(i) !== 0 ? i : -1
  }

  // first slot in [head, end) whose sequence is >= seq
  private lowerBound (seq: number): number {
    let lo = this.head
    let hi = this.end
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.seqAt(mid) < seq) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  // room for one more slot at the end
  private reserve (): void {
    if (this.end < this.capacity()) return
    if (this.seqChunks.length <= 1 && this.capacity() < this.chunk) {
      // one array: pack it where it is, or grow it by half (up to a chunk)
      const capacity = this.capacity()
      if (capacity > 0 && this.size + 1 <= capacity * 0.75) this.pack(capacity)
      else this.pack(Math.min(this.chunk, Math.max(MIN_CAPACITY, Math.ceil((this.size + 1) * 1.5))))
      if (this.end < this.capacity()) return
    }
    this.seqChunks.push(new Float64Array(this.chunk))
    this.sizeChunks.push(new Int32Array(this.chunk))
  }

  // chunks wholly before head or after end are given back
  private freeEnds (): void {
    const first = this.head >>> this.shift
    if (first > 0 && this.seqChunks.length > 1) {
      this.seqChunks.splice(0, first)
      this.sizeChunks.splice(0, first)
      this.head -= first * this.chunk
      this.end -= first * this.chunk
    }
    const needed = ((this.end - 1) >>> this.shift) + 1
    if (this.seqChunks.length > 1 && needed < this.seqChunks.length) {
      this.seqChunks.length = needed
      this.sizeChunks.length = needed
    }
  }

  // copies the held slots (holes left out) to the front of new arrays: one of
  // `single` slots when they fit a chunk, else as many chunks as they need
  private pack (single = Math.max(MIN_CAPACITY, Math.ceil(this.size * 1.5))): void {
    const seqChunks: Float64Array[] = []
    const sizeChunks: Int32Array[] = []
    if (this.size < this.chunk) {
      const capacity = Math.min(this.chunk, Math.max(single, this.size))
      seqChunks.push(new Float64Array(capacity))
      sizeChunks.push(new Int32Array(capacity))
    } else {
      for (let n = Math.ceil(this.size / this.chunk); n > 0; n--) {
        seqChunks.push(new Float64Array(this.chunk))
        sizeChunks.push(new Int32Array(this.chunk))
      }
    }
    let j = 0
    for (let i = this.head; i < this.end; i++) {
      const v = this.sizeAt(i)
      if (v === 0) continue
      seqChunks[j >>> this.shift][j & this.mask] = this.seqAt(i)
      sizeChunks[j >>> this.shift][j & this.mask] = v
      j++
    }
    this.seqChunks = seqChunks
    this.sizeChunks = sizeChunks
    this.head = 0
    this.end = j
  }

  private release (): void {
    this.seqChunks = []
    this.sizeChunks = []
    this.head = 0
    this.end = 0
  }
}
