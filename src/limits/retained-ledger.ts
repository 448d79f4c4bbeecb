// Counts retained messages (globally and per publishing client id) so the
// broker can refuse a new retained topic before the store grows past its caps
// (failure-modes row 8: Mosquitto #3237 ran out of memory at 130k retained).
// The owner of a retained topic is the client whose retained message is there
// now; an empty retained payload deletes it and frees the owner's quota.

/** Caps; 0 = no cap. */
export interface RetainedLimits {
  maxMessages: number
  maxBytes: number
  maxMessagesPerClient: number
  maxBytesPerClient: number
}

/** Retained topic → size and owner; totals kept up to date. */
export class RetainedLedger {
  readonly #topics = new Map<string, { bytes: number, owner?: string }>()
  readonly #owners = new Map<string, { count: number, bytes: number }>()
  #bytes = 0

  /** Retained messages counted. */
  get count (): number { return this.#topics.size }
  /** Their payload bytes. */
  get bytes (): number { return this.#bytes }

  /** What one owner holds. */
  owner (id: string): { count: number, bytes: number } {
    return this.#owners.get(id) ?? { count: 0, bytes: 0 }
  }

  /**
   * Why a retained message of `bytes` on `topic` from `owner` must be refused,
   * or undefined when it fits. Deleting (0 bytes) always fits; with `refuseNew`
   * (memory above the soft mark) only deletions and same-size-or-smaller
   * replacements fit.
   */
  check (topic: string, bytes: number, owner: string | undefined, limits: RetainedLimits, refuseNew: boolean): string | undefined {
    if (bytes === 0) return undefined
    const old = this.#topics.get(topic)
    const growth = bytes - (old?.bytes ?? 0)
    if (refuseNew && growth > 0) return 'new retained messages are refused while memory is above memory.softMark'
    if (old === undefined && limits.maxMessages > 0 && this.#topics.size >= limits.maxMessages) return `retained messages at limits.maxRetainedMessages (${limits.maxMessages})`
    if (growth > 0 && limits.maxBytes > 0 && this.#bytes + growth > limits.maxBytes) return `retained bytes would pass limits.maxRetainedBytes (${limits.maxBytes})`
    if (owner !== undefined) {
      const mine = this.owner(owner)
      const takesTopic = old === undefined || old.owner !== owner
      const myGrowth = bytes - (old?.owner === owner ? old.bytes : 0)
      if (takesTopic && limits.maxMessagesPerClient > 0 && mine.count >= limits.maxMessagesPerClient) return `client holds limits.maxRetainedMessagesPerClient (${limits.maxMessagesPerClient}) retained messages`
      if (myGrowth > 0 && limits.maxBytesPerClient > 0 && mine.bytes + myGrowth > limits.maxBytesPerClient) return `client's retained bytes would pass limits.maxRetainedBytesPerClient (${limits.maxBytesPerClient})`
    }
    return undefined
  }

  /** Records a retained message that was accepted (0 bytes deletes the topic). */
  apply (topic: string, bytes: number, owner: string | undefined): void {
    const old = this.#topics.get(topic)
    if (old !== undefined) {
      this.#bytes -= old.bytes
      if (old.owner !== undefined) {
        const o = this.owner(old.owner)
        if (o.count <= 1) this.#owners.delete(old.owner)
        else this.#owners.set(old.owner, { count: o.count - 1, bytes: o.bytes - old.bytes })
      }
      this.#topics.delete(topic)
    }
    if (bytes === 0) return
    this.#topics.set(topic, { bytes, owner })
    this.#bytes += bytes
    if (owner !== undefined) {
      const o = this.owner(owner)
      this.#owners.set(owner, { count: o.count + 1, bytes: o.bytes + bytes })
    }
  }
}
