// Outbound flow control [MQTT-4.9]: the server sends no more unacknowledged
// QoS 1/2 PUBLISH packets than the client's Receive Maximum [MQTT-3.3.4-7];
// aedes 2.0.0-beta.1 stores the value but never enforces it. Pure: no I/O.

/** A per-connection send window with a bounded FIFO of messages waiting for a slot. */
export class OutboundWindow<T> {
  readonly max: number
  readonly queueLimit: number
  private inflightCount = 0
  private readonly waiting: T[] = []
  /** Messages dropped because the waiting queue was full. */
  dropped = 0

  /** `max` is the client's Receive Maximum (1..65535); `queueLimit` bounds memory per connection. */
  constructor (max: number, queueLimit: number) {
    this.max = Math.max(1, max)
    this.queueLimit = queueLimit
  }

  /** True when a message may go out now (the caller then calls `sent()` if it really went out). */
  hasRoom (): boolean {
    return this.inflightCount < this.max && this.waiting.length === 0
  }

  /** Counts one QoS 1/2 PUBLISH on the wire. */
  sent (): void { this.inflightCount++ }

  /** Queues a message for later; returns false (and counts a drop) when the queue is full. */
  hold (item: T): boolean {
    if (this.waiting.length >= this.queueLimit) { this.dropped++; return false }
    this.waiting.push(item)
    return true
  }

  /** One flow ended (PUBACK, PUBCOMP, or PUBREC with a reason code >= 0x80, MQTT 5.0 §4.9): frees a slot. */
  acknowledged (): void {
    if (this.inflightCount > 0) this.inflightCount--
  }

  /** The next waiting message if a slot is free, else undefined. */
  takeNext (): T | undefined {
    if (this.inflightCount >= this.max) return undefined
    return this.waiting.shift()
  }

  /** Empties the waiting queue (on close) and returns what was in it. */
  drain (): T[] { return this.waiting.splice(0) }

  get inflight (): number { return this.inflightCount }
  get queued (): number { return this.waiting.length }
}
