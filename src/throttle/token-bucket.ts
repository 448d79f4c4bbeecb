// A token bucket on an injected monotonic clock: the one rate-limiting
// primitive behind every throttle (bytes/s, messages/s, connections/s).
// Pure: no timers, no sockets; the caller decides what to do with a wait.

/** Milliseconds from a monotonic clock (performance.now in production). */
export type MonotonicClock = () => number

/** `rate` tokens per second, at most `burst` saved up; rate 0 means unlimited. */
export class TokenBucket {
  #rate: number
  #burst: number
  #tokens: number
  #at: number
  readonly #now: MonotonicClock

  constructor (rate: number, burst: number, now: MonotonicClock) {
    this.#now = now
    this.#rate = rate
    this.#burst = Math.max(burst, 0)
    this.#tokens = this.#burst
    this.#at = now()
  }

  /** Tokens per second (0 = unlimited). */
  get rate (): number { return this.#rate }
  /** Most tokens saved up. */
  get burst (): number { return this.#burst }

  /** Tokens available now (negative while in debt). */
  available (): number {
    this.#refill()
    return this.#tokens
  }

  /**
   * Takes `n` tokens even when that goes into debt, and returns the
   * milliseconds until the debt is paid (0 when there was enough). Going into
   * debt rather than refusing lets a packet bigger than the burst through once,
   * followed by a proportionally longer pause, so the long-run rate holds.
   */
  take (n: number): number {
    if (this.#rate <= 0) return 0
    this.#refill()
    this.#tokens -= n
    return this.#tokens >= 0 ? 0 : (-this.#tokens / this.#rate) * 1000
  }

  /** Takes `n` tokens only if they are there (for accept-or-refuse decisions such as connections). */
  tryTake (n = 1): boolean {
    if (this.#rate <= 0) return true
    this.#refill()
    if (this.#tokens < n) return false
    this.#tokens -= n
    return true
  }

  /** Changes the rate and burst at run time; saved tokens are kept up to the new burst. */
  setRate (rate: number, burst: number): void {
    this.#refill()
    const wasUnlimited = this.#rate <= 0
    this.#rate = rate
    this.#burst = Math.max(burst, 0)
    // Turning a limit on starts with a full bucket, as a new bucket does.
    this.#tokens = wasUnlimited ? this.#burst : Math.min(this.#tokens, this.#burst)
  }

  #refill (): void {
    const now = this.#now()
    const elapsed = now - this.#at
    this.#at = now
    if (elapsed > 0 && this.#rate > 0) this.#tokens = Math.min(this.#burst, this.#tokens + (elapsed / 1000) * this.#rate)
  }
}
