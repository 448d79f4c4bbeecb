// Reconnect delays: exponential with full jitter and a cap, so a fleet of
// gateways that lost the same uplink does not reconnect in lockstep when it
// comes back (AWS Architecture Blog, "Exponential Backoff And Jitter").
// Pure: the random source is injected.

/** Bounds of the reconnect delay. */
export interface BackoffOptions {
  /** Delay before the first retry, ms. */
  initialDelay: number
  /** Largest delay, ms. */
  maxDelay: number
}

/**
 * Delay before retry number `attempt` (0 = first retry): a random value in
 * [base/2, base] where base = min(maxDelay, initialDelay * 2^attempt). Half
 * jitter keeps a floor so a broken upstream is never hammered.
 */
export function backoffDelay (attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const exp = Math.min(attempt, 30) // 2^30 overflows every sane cap; stop growing
  const base = Math.min(options.maxDelay, options.initialDelay * 2 ** exp)
  return Math.round(base / 2 + random() * (base / 2))
}
