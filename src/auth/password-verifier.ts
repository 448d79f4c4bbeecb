// One password check of a CONNECT, in the order that makes a reconnect storm
// cheap without making a guess cheaper:
//  1. the verification cache: the same user, hash line and password verified
//     before in this process → accepted after one HMAC;
//  2. an identical verification already in flight (20 devices of one user
//     reconnecting together) → wait for its result instead of running the KDF
//     20 times. Unknown users are coalesced the same way (against the decoy
//     hash), so coalescing shows nothing about whether a user exists; a wrong
//     password repeated at once costs the attacker the same number of
//     attempts (each is refused and counted) and gives nothing new;
//  3. otherwise a slot of the waiting room, and the KDF.
// Only a success of step 3 fills the cache.
import { formatPasswordHash, verifyPassword, type PasswordHash } from './password-hash.ts'
import type { PasswordEntry } from './password-file.ts'
import type { VerificationCache } from './verification-cache.ts'
import { WaitingRoomRefusal, type Ticket, type WaitingRoom } from './waiting-room.ts'

/** Cache, coalescing and slots around verifyPassword. */
export class PasswordVerifier {
  private readonly inFlight = new Map<string, Promise<boolean>>()
  /** Counters for tests and $SYS. */
  readonly stats = { kdfRuns: 0, coalesced: 0 }

  constructor (readonly cache: VerificationCache, readonly room: WaitingRoom) {}

  /**
   * Whether `password` is right for `user`. `entry` undefined (unknown user) is
   * checked against `decoy` and always fails. Rejects with WaitingRoomRefusal
   * when no slot could be had. `onKdf` hears the time of a KDF run this call made.
   */
  async verify (user: string, entry: PasswordEntry | undefined, decoy: PasswordHash, password: Buffer | undefined, ticket: Ticket, onKdf?: (ms: number) => void): Promise<boolean> {
    const pw = password ?? Buffer.alloc(0)
    if (entry !== undefined && password !== undefined && this.cache.matches(user, entry.text, pw)) return true
    const line = entry?.text ?? `decoy:${formatPasswordHash(decoy)}`
    const key = this.cache.digest(user, line, pw).toString('base64')
    const running = this.inFlight.get(key)
    if (running !== undefined) {
      this.stats.coalesced++
      try {
        return await running
      } catch (err) {
        // a full room or a wait that ran out would be the same for this login: busy
        if (!(err instanceof WaitingRoomRefusal) || err.why !== 'abandoned') throw err
      }
      // the first of them was dropped (it hung up, its address was banned): try on our own ticket
      return await this.verify(user, entry, decoy, password, ticket, onKdf)
    }
    const check = this.room.run(ticket, async () => {
      this.stats.kdfRuns++
      const t0 = performance.now()
      const match = await verifyPassword(pw, entry?.hash ?? decoy)
      onKdf?.(performance.now() - t0) // the KDF alone, for the failed-login floor (src/auth/login-cost.ts)
      return match && entry !== undefined && password !== undefined
    })
    this.inFlight.set(key, check)
    try {
      const ok = await check
      if (ok && entry !== undefined) this.cache.remember(user, entry.text, pw)
      return ok
    } finally {
      this.inFlight.delete(key)
    }
  }
}
