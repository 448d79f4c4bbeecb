// Successful password verifications, remembered so that a device reconnecting
// with the same password after a Wi-Fi blip or a gateway reboot costs an HMAC
// (microseconds) instead of a KDF run (scrypt: 16 MiB and 40 ms on x86, several
// times that on a Pi Zero). Measured before the cache (issue 16): 500 devices
// reconnecting at once took 15 s and 6,513 "busy" refusals.
//
// What is kept is no password and nothing that verifies one elsewhere: per user,
// HMAC-SHA256 under a random secret that lives only in this process, over the
// user name, the stored hash line and the password. A memory dump gives an
// attacker nothing to replay against the password file or another broker, and
// guessing against it costs as much as against the hash line itself plus the
// secret. A changed hash line never matches (it is part of the MAC), and a
// reload forgets the user anyway so the memory goes too.
//
// Only a verified success fills it (remember); a lookup that does not match
// changes nothing (no LRU refresh, no eviction), so failed attempts neither use
// it nor disturb it, and the lockout and the cost per wrong guess stay as they
// were.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

/** Counters for tests and $SYS. */
export interface VerificationCacheStats {
  hits: number
  misses: number
  fills: number
  forgotten: number
}

/** Every live cache, so forgetVerifiedUser reaches all brokers in the process. */
const live = new Set<VerificationCache>()

/**
 * Forgets the cached verification of `user` in every cache of this process:
 * call it wherever a user's password stops being valid (reload, revocation, a
 * control command). Returns how many caches held the user.
 */
export function forgetVerifiedUser (user: string): number {
  let n = 0
  for (const c of live) if (c.forget(user)) n++
  return n
}

/** A bounded LRU of user → keyed digest of (user, hash line, password). */
export class VerificationCache {
  /** Per process, never stored: the digests are useless outside this process. */
  private readonly secret = randomBytes(32)
  /** Map order is the LRU order: oldest first. */
  private readonly entries = new Map<string, Buffer>()
  readonly stats: VerificationCacheStats = { hits: 0, misses: 0, fills: 0, forgotten: 0 }

  /** `maxEntries` 0 turns the cache off. */
  constructor (private readonly maxEntries: number) {
    live.add(this)
  }

  /** Whether (user, hashLine, password) was verified before; a miss changes nothing. */
  matches (user: string, hashLine: string, password: Buffer): boolean {
    const kept = this.entries.get(user)
    if (kept === undefined) { this.stats.misses++; return false }
    const ok = timingSafeEqual(kept, this.digest(user, hashLine, password))
    if (!ok) { this.stats.misses++; return false }
    this.stats.hits++
    this.entries.delete(user) // most recently used goes last
    this.entries.set(user, kept)
    return true
  }

  /** Records a verified success; evicts the least recently used user when full. */
  remember (user: string, hashLine: string, password: Buffer): void {
    if (this.maxEntries <= 0) return
    this.entries.delete(user)
    while (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string)
    this.entries.set(user, this.digest(user, hashLine, password))
    this.stats.fills++
  }

  /** Forgets one user; true when it was cached. */
  forget (user: string): boolean {
    const had = this.entries.delete(user)
    if (had) this.stats.forgotten++
    return had
  }

  /** Users cached now. */
  get size (): number { return this.entries.size }

  /** Empties the cache and leaves the process-wide registry (broker close). */
  close (): void {
    this.entries.clear()
    live.delete(this)
  }

  /**
   * The keyed digest (also the key that coalesces identical verifications in
   * flight): length-prefixed fields so that no two triples share an encoding.
   */
  digest (user: string, hashLine: string, password: Buffer): Buffer {
    const mac = createHmac('sha256', this.secret)
    for (const part of [Buffer.from(user, 'utf8'), Buffer.from(hashLine, 'utf8'), password]) {
      const len = Buffer.allocUnsafe(4)
      len.writeUInt32BE(part.length)
      mac.update(len).update(part)
    }
    return mac.digest()
  }
}
