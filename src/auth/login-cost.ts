// Failed logins cost the same whether the user exists or not, whatever hash
// schemes the password file mixes (issue 14). Measured before: a file with one
// Mosquitto $7$ line (101 iterations) first and scrypt users after it gave
// 0.8 ms for an unknown user, 1.1 ms for the $7$ user and 42.5 ms for a scrypt
// user: the decoy copied the first line's scheme, so every scrypt user name
// could be told apart from an unknown one by timing.
//
// Now: (1) an unknown user is checked against a decoy of the STRONGEST hash
// class in the file (measured at load, not guessed from the scheme), and
// (2) every failed check lasts at least the running median of the latest
// checks of that class (the "floor"): a $7$ or $6$ user's wrong password waits out the
// difference on a timer (no CPU), so it costs what an unknown user costs.
// Successful logins are never padded. A file of one class only has a floor
// equal to its own cost, so nothing changes there.
import { type PasswordHash, decoyHash, verifyPassword } from './password-hash.ts'

/** Scheme and parameters: hashes of one class cost the same to check. */
export function costClassOf (h: PasswordHash): string {
  switch (h.scheme) {
    case 'scrypt': return `scrypt:${h.N}:${h.r}:${h.p}:${h.hash.length}`
    case 'pbkdf2-sha512': return `pbkdf2-sha512:${h.iterations}`
    case 'sha512': return 'sha512'
  }
}

/**
 * Rough cost in microseconds on x86 (scrypt N=16384 r=8: ~60 ms; PBKDF2-SHA512:
 * ~0.6 µs per iteration, measured here), only to pick which classes to measure.
 */
export function estimateCost (h: PasswordHash): number {
  switch (h.scheme) {
    case 'scrypt': return h.N * h.r * h.p * 0.45
    case 'pbkdf2-sha512': return h.iterations * 0.6
    case 'sha512': return 1
  }
}

/** Classes measured at load: the estimate only preselects, the clock decides. */
const MEASURED_CLASSES = 3
/** Checks kept for the running median: few, so the floor follows the load of the moment. */
const WINDOW = 9

/** The floor under failed logins: the running median of decoy checks of the strongest class. */
export class FailedLoginFloor {
  private readonly samples: number[] = []

  constructor (seedMs: number) { this.samples.push(seedMs) }

  /** Records the duration of one decoy check. */
  record (ms: number): void {
    this.samples.push(ms)
    if (this.samples.length > WINDOW) this.samples.shift()
  }

  /** The floor in ms. */
  get ms (): number {
    const sorted = [...this.samples].sort((a, b) => a - b)
    return sorted[sorted.length >> 1]
  }
}

/** The decoy for unknown users (strongest class present, by the clock) and its measured cost. */
export async function pickDecoy (hashes: Iterable<PasswordHash>, now: () => number = () => performance.now()): Promise<{ decoy: PasswordHash, costMs: number, classes: number }> {
  const byClass = new Map<string, PasswordHash>()
  for (const h of hashes) if (!byClass.has(costClassOf(h))) byClass.set(costClassOf(h), h)
  const candidates = [...byClass.values()].sort((a, b) => estimateCost(b) - estimateCost(a)).slice(0, MEASURED_CLASSES)
  if (candidates.length === 0) candidates.push(decoyHash(undefined)) // no users: edgemq's default cost
  let best: { decoy: PasswordHash, costMs: number } | undefined
  for (const like of candidates) {
    const decoy = decoyHash(like)
    const t0 = now()
    await verifyPassword(Buffer.from('decoy'), decoy)
    const costMs = now() - t0
    if (best === undefined || costMs > best.costMs) best = { decoy, costMs }
  }
  return { ...best!, classes: byClass.size }
}

/** Waits out the rest of the floor after a failed check that took `tookMs`. */
export async function padFailure (floor: FailedLoginFloor, tookMs: number): Promise<void> {
  const rest = floor.ms - tookMs
  if (rest > 0.5) await new Promise((resolve) => { setTimeout(resolve, rest) })
}
