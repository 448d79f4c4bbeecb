// Which logins get the reserved verification slots (issue 14: a burst of wrong
// logins from 30 addresses refused a real user). Trusted: a client that showed
// a certificate the TLS listener verified, an address that logged in
// successfully not long ago, or an address with no failure in the lockout
// window. An attacker's address loses its trust at its first wrong password and
// then shares the unreserved slots with the other failing addresses; a NAT
// with one misconfigured device keeps its trust as long as its other devices
// log in.
import { normalizeIp } from '../listeners/ip-filter.ts'

/** Most addresses remembered; the oldest go first (bounded memory under a spray of addresses). */
const MAX_ADDRESSES = 10_000

/** Addresses with a recent successful login, for `recentMs`. */
export class RecentSuccesses {
  /** Map order is insertion order: oldest first. */
  private readonly at = new Map<string, number>()

  constructor (private readonly recentMs: number, private readonly monotonic: () => number) {}

  /** Records a successful login from `ip`. */
  record (ip: string): void {
    const key = normalizeIp(ip)
    this.at.delete(key)
    if (this.at.size >= MAX_ADDRESSES) this.at.delete(this.at.keys().next().value as string)
    this.at.set(key, this.monotonic())
  }

  /** Whether `ip` logged in successfully within the last `recentMs`. */
  has (ip: string): boolean {
    const t = this.at.get(normalizeIp(ip))
    return t !== undefined && this.monotonic() - t < this.recentMs
  }
}

/** Whether a login is trusted for the reserved slots. */
export function isTrustedLogin (login: { ip: string, hasCertificate: boolean }, deps: { successes: RecentSuccesses, recentFailures: (ip: string) => number }): boolean {
  return login.hasCertificate || deps.successes.has(login.ip) || deps.recentFailures(login.ip) === 0
}
