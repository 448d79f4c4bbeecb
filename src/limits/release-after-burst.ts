// Gives memory back once a burst is over. V8 keeps the heap a burst grew: the
// young generation stays at its largest (16 MiB committed under the
// generic-x64 profile's 8 MiB semi-space) and the old generation keeps its
// garbage and its fragmented pages, because nothing allocates enough to start
// a collection. V8's memory reducer, which gives both back, is only started by
// a full collection and then waits for a low allocation rate; on a quiet
// broker it ran 20 s after a burst, or not within 40 s (issue 11's load: 500
// persistent sessions away, 50k QoS 1 messages queued, x64).
//
// So the broker collects itself once the burst is over (src/core/full-gc.ts:
// compacting). V8 shrinks the young generation at the end of a collection
// only when its allocation rate over the last 5 s is low, so the loop must
// have been quiet for longer than that: collections 1 s or 2 s into the quiet
// time left the young generation at its largest, one after 6 s shrank it at
// once. Measured with the load above: RSS 84.6 -> 68.0 MiB (rpi-4b profile)
// and 98.5 -> 78.3 MiB, 75.1 MiB 5 s later (generic-x64), right after the
// collection.
//
// The decision is a pure state machine fed on the memory check's timer: the
// heap's committed size and the event loop's utilization since the last
// reading. A burst is heap growth above the level left by the last release;
// quiet is a loop busy less than `quietUtilization` for `quietMs`. The
// collection itself (~10-30 ms on a 20 MiB heap) runs at most once per
// `minIntervalMs`, and only on a quiet loop, where its pause delays nothing
// that is waiting.

/** When a release is due; see the file header. */
export interface BurstReleaseOptions {
  /** Committed heap above the level after the last release (or the lowest seen) that counts as a burst (bytes). */
  growthBytes: number
  /** Event-loop utilization (0..1) below which a reading counts as quiet. */
  quietUtilization: number
  /** How long the loop must stay quiet before the release (ms). */
  quietMs: number
  /** Least time between two releases (ms). */
  minIntervalMs: number
}

/** The defaults: a burst is 8 MiB of heap growth; quiet is under 5 % busy for 6 s (past V8's 5 s allocation window); one release a minute at most. */
export const BURST_RELEASE_DEFAULTS: BurstReleaseOptions = {
  growthBytes: 8 * 1024 * 1024,
  quietUtilization: 0.05,
  quietMs: 6000,
  minIntervalMs: 60_000
}

/** The state machine: `observe` each reading, `released` after the collection ran. */
export class BurstRelease {
  readonly #options: BurstReleaseOptions
  /** The heap level a burst is measured from: the lowest committed size seen since the last release, or the size right after it. */
  #baseline: number | undefined
  #quietSince: number | undefined
  #lastRelease = Number.NEGATIVE_INFINITY

  constructor (options: BurstReleaseOptions = BURST_RELEASE_DEFAULTS) {
    this.#options = options
  }

  /** Feeds one reading; true when a collection should run now. */
  observe (now: number, heapCommitted: number, utilization: number): boolean {
    if (this.#baseline === undefined || heapCommitted < this.#baseline) this.#baseline = heapCommitted
    if (utilization >= this.#options.quietUtilization) {
      this.#quietSince = undefined
      return false
    }
    this.#quietSince ??= now
    return heapCommitted - this.#baseline >= this.#options.growthBytes &&
      now - this.#quietSince >= this.#options.quietMs &&
      now - this.#lastRelease >= this.#options.minIntervalMs
  }

  /** Records a release; `heapCommitted` (read after the collection) is the new baseline. */
  released (now: number, heapCommitted: number): void {
    this.#lastRelease = now
    this.#baseline = heapCommitted
    this.#quietSince = undefined
  }
}
