// Bounds the password verifications in progress. Hashing is the costly part
// of a login (scrypt: 16 MiB and tens of ms); unbounded, a burst of attempts
// would fill the threadpool (which LevelDB shares) and the memory. A few run
// at once, a few wait, each source IP may hold only a couple of places, and
// anything beyond is refused at once without hashing, so one attacker cannot
// queue ahead of everybody else.

/** Why a job was not run. */
export class VerifyQueueFull extends Error {
  constructor (readonly why: 'queue-full' | 'per-ip') { super(why) }
}

/** A bounded, per-key-fair queue of async jobs. */
export class VerifyQueue {
  private running = 0
  private readonly waiting: Array<() => void> = []
  private readonly perKey = new Map<string, number>()

  constructor (private readonly options: { maxConcurrent: number, maxQueued: number, maxPerKey: number }) {}

  /** Runs `job` when a slot is free; rejects with VerifyQueueFull when the bounds are hit. */
  async run<T> (key: string, job: () => Promise<T>): Promise<T> {
    const held = this.perKey.get(key) ?? 0
    if (held >= this.options.maxPerKey) throw new VerifyQueueFull('per-ip')
    if (this.running >= this.options.maxConcurrent && this.waiting.length >= this.options.maxQueued) throw new VerifyQueueFull('queue-full')
    this.perKey.set(key, held + 1)
    try {
      if (this.running >= this.options.maxConcurrent) await new Promise<void>((resolve) => this.waiting.push(resolve))
      else this.running++
      try {
        return await job()
      } finally {
        const next = this.waiting.shift()
        if (next !== undefined) next() // hand the slot over; running stays the same
        else this.running--
      }
    } finally {
      const n = (this.perKey.get(key) ?? 1) - 1
      if (n === 0) this.perKey.delete(key)
      else this.perKey.set(key, n)
    }
  }

  /** Jobs running and waiting (for tests and $SYS). */
  get load (): { running: number, waiting: number } {
    return { running: this.running, waiting: this.waiting.length }
  }
}
