// A first-in first-out queue with O(1) push and shift, for mqemitter's message
// queue. mqemitter keeps messages waiting for a delivery slot in a plain
// Array and takes them with shift(), which V8 does in O(n) once the array is
// large (a backing store in large-object space cannot be trimmed from the
// front, so every shift moves the whole array). Under a fan-in flood that
// queue holds thousands of messages, and the cpu profile of the fan-in QoS 0
// benchmark put 25 % of the broker's time inside mqemitter's `released`,
// almost all of it in shift(). A ring buffer that doubles when full and
// shrinks when mostly empty keeps both ends O(1).

const MIN_CAPACITY = 16

/** O(1) FIFO with the Array methods mqemitter uses (push, shift, length). */
export class FifoQueue<T> {
  private items: Array<T | undefined> = new Array(MIN_CAPACITY)
  private head = 0
  private size = 0

  /** Items waiting. */
  get length (): number {
    return this.size
  }

  /** Appends an item; returns the new length (as Array.prototype.push does). */
  push (item: T): number {
    if (this.size === this.items.length) this.resize(this.items.length * 2)
    this.items[(this.head + this.size) % this.items.length] = item
    this.size++
    return this.size
  }

  /** Takes the oldest item, or undefined when empty (as Array.prototype.shift does). */
  shift (): T | undefined {
    if (this.size === 0) return undefined
    const item = this.items[this.head]
    this.items[this.head] = undefined // drop the reference: a delivered message can be collected
    this.head = (this.head + 1) % this.items.length
    this.size--
    // give memory back after a flood: a queue that held 100k messages once keeps no 100k-slot array
    if (this.items.length > MIN_CAPACITY && this.size < this.items.length / 4) this.resize(Math.max(MIN_CAPACITY, this.items.length / 2))
    return item
  }

  private resize (capacity: number): void {
    const next = new Array<T | undefined>(capacity)
    for (let i = 0; i < this.size; i++) next[i] = this.items[(this.head + i) % this.items.length]
    this.items = next
    this.head = 0
  }
}
