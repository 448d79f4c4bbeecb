// The queued messages of one client as (sequence, stored bytes) pairs, oldest
// first: the per-message part of the offline-queue figures (queue-bounds.ts).
//
// Why not a Map<number, number>: it cost ~24 bytes of V8 heap per queued
// message (measured, issue 11: 500k queued took 11.3 MiB more old space than
// 50k). Queues are bounded by disk, so a Pi Zero 2 W (64 MiB heap) with a
// long outage ran out of heap around two million queued messages, and a
// restart ran out again while counting them. Two typed arrays hold 12 bytes
// per message outside the V8 heap, freed whole when the queue empties.
//
// Slots [head, end) are sorted by sequence (a client's sequences only grow;
// a dropped message restored by outgoing-store.ts goes back to its place).
// A removed message leaves a 0 in its size slot until the slots are
// compacted (stored sizes are never 0: a record has a header).

const MIN_CAPACITY = 8

export class SeqSizes {
  private seqs: Float64Array | null = null
  private sizes: Int32Array | null = null
  private head = 0
  private end = 0
  /** Messages held. */
  size = 0

  /** The stored value of `seq` (negative: inflight), or undefined. */
  get (seq: number): number | undefined {
    const i = this.find(seq)
    return i < 0 ? undefined : (this.sizes as Int32Array)[i]
  }

  /** Sets the value of `seq` (not 0), appending or inserting it in sequence order. */
  set (seq: number, value: number): void {
    if (value === 0 || !Number.isInteger(value)) throw new RangeError(`a queued message's stored size must be a non-zero integer: got ${value}`)
    if (this.size === 0 || this.end === this.head || seq > (this.seqs as Float64Array)[this.end - 1]) {
      this.reserve(1)
      const at = this.end++
      ;(this.seqs as Float64Array)[at] = seq
      ;(this.sizes as Int32Array)[at] = value
      this.size++
      return
    }
    const seqs = this.seqs as Float64Array
    const sizes = this.sizes as Int32Array
    const i = this.lowerBound(seq)
    if (i < this.end && seqs[i] === seq) {
      if (sizes[i] === 0) this.size++
      sizes[i] = value
      return
    }
    // an older sequence than the newest (a restore): make a slot at its place
    this.reserve(1)
    const s = this.seqs as Float64Array
    const z = this.sizes as Int32Array
    const at = this.lowerBound(seq)
    s.copyWithin(at + 1, at, this.end)
    z.copyWithin(at + 1, at, this.end)
    s[at] = seq
    z[at] = value
    this.end++
    this.size++
  }

  /** Removes `seq`; its value, or undefined when it was not held. */
  delete (seq: number): number | undefined {
    const i = this.find(seq)
    if (i < 0) return undefined
    const sizes = this.sizes as Int32Array
    const value = sizes[i]
    sizes[i] = 0
    this.size--
    if (this.size === 0) { this.release(); return value }
    while (sizes[this.head] === 0) this.head++
    while (sizes[this.end - 1] === 0) this.end--
    // a queue shrunk to a quarter gives the rest back; mostly holes
    // (acknowledged out of order, drops from the middle) are packed
    if (this.capacity() > 4 * this.size + MIN_CAPACITY) this.pack(Math.max(MIN_CAPACITY, Math.ceil(this.size * 1.5)))
    else if (this.end - this.head > 2 * this.size + MIN_CAPACITY) this.pack(this.capacity())
    return value
  }

  /** The held messages, oldest first: [sequence, value]. */
  * entries (): IterableIterator<[number, number]> {
    for (let i = this.head; i < this.end; i++) {
      const sizes = this.sizes
      const seqs = this.seqs
      if (sizes === null || seqs === null) return
      if (sizes[i] !== 0) yield [seqs[i], sizes[i]]
    }
  }

  private capacity (): number {
    return this.seqs?.length ?? 0
  }

  private find (seq: number): number {
    // the usual lookup is an enqueue's new, newest sequence: not held
    if (this.size === 0 || seq > (this.seqs as Float64Array)[this.end - 1]) return -1
    const i = this.lowerBound(seq)
    return i < this.end && (this.seqs as Float64Array)[i] === seq && (this.sizes as Int32Array)[i] !== 0 ? i : -1
  }

  // first slot in [head, end) whose sequence is >= seq
  private lowerBound (seq: number): number {
    const seqs = this.seqs as Float64Array
    let lo = this.head
    let hi = this.end
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (seqs[mid] < seq) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  // room for `n` more slots at the end: move to the front, or grow by half
  private reserve (n: number): void {
    const capacity = this.capacity()
    if (this.end + n <= capacity) return
    if (capacity > 0 && this.size + n <= capacity * 0.75) this.pack(capacity)
    else this.pack(Math.max(MIN_CAPACITY, Math.ceil((this.size + n) * 1.5)))
  }

  // copies the held slots (holes left out) to the front of arrays of `capacity`
  private pack (capacity: number): void {
    const seqs = new Float64Array(capacity)
    const sizes = new Int32Array(capacity)
    let j = 0
    if (this.seqs !== null && this.sizes !== null) {
      for (let i = this.head; i < this.end; i++) {
        if (this.sizes[i] === 0) continue
        seqs[j] = this.seqs[i]
        sizes[j] = this.sizes[i]
        j++
      }
    }
    this.seqs = seqs
    this.sizes = sizes
    this.head = 0
    this.end = j
  }

  private release (): void {
    this.seqs = null
    this.sizes = null
    this.head = 0
    this.end = 0
  }
}
