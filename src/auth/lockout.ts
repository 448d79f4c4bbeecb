// Fail2Ban built in: failed authentications are counted per source IP and
// per user name in a sliding window. An IP with too many failures is banned;
// each repeat doubles the ban, up to a cap. Once a user name has drawn too
// many failures (a spread-out attack on one account), every further failing
// IP is banned at its first failure, while the real user with the right
// password still gets in. Bans are kept in LevelDB so a restart does not
// release an attacker, and checking one is a Map lookup, done at accept.
import type { EdgemqConfig } from '../config/types.ts'
import type { Logger } from '../observability/logger.ts'
import { IpRangeSet, formatIp, normalizeIp, parseCidr } from '../listeners/ip-filter.ts'

/** Lockout settings: auth.lockout.* as the loaded config has them (each key's meaning,
 * unit and default are its row in src/auth/auth-options.ts). */
export type LockoutOptions = EdgemqConfig['auth']['lockout']

/** One ban, as stored and listed. */
export interface Ban {
  /** The address, or for IPv6 the banned prefix ("2001:db8:1:2::/64"). */
  ip: string
  /** Wall-clock ms since the epoch (it must survive a restart). */
  since: number
  until: number
  failures: number
  /** How many times this IP has been banned (the ban doubles each time). */
  offences: number
}

/** The LevelDB operations the lockout needs (a sublevel satisfies it). */
export interface BanStore {
  put: (key: string, value: string) => Promise<void>
  del: (key: string) => Promise<void>
  iterator: (options: { gte: string, lt: string }) => AsyncIterable<[unknown, unknown]>
}

/** Most IPs and user names whose failures are tracked; the oldest go first (bounded memory under an IPv6 spray). */
const MAX_TRACKED = 20_000
const BAN_PREFIX = 'ban!'

/** Per-IP and per-user failure counting with escalating, persistent bans. */
export class Lockout {
  private options: LockoutOptions
  private ignore: IpRangeSet
  private readonly bans = new Map<string, Ban>()
  private readonly ipFailures = new Map<string, number[]>()
  private readonly userFailures = new Map<string, number[]>()
  private readonly pending = new Set<Promise<void>>()

  constructor (options: LockoutOptions, private readonly deps: { now: () => number, logger: Logger, store?: BanStore }) {
    this.options = options
    this.ignore = new IpRangeSet(options.ignore)
  }

  /** Applies new settings (config reload); bans and counters are kept. */
  setOptions (options: LockoutOptions): void {
    this.options = options
    this.ignore = new IpRangeSet(options.ignore)
  }

  /** Loads stored bans. A ban ending further ahead than maxBanTime is clamped (a clock that jumped back at boot). */
  async load (): Promise<number> {
    const store = this.deps.store
    if (store === undefined) return 0
    const now = this.deps.now()
    for await (const [rawKey, rawValue] of store.iterator({ gte: BAN_PREFIX, lt: BAN_PREFIX + '\xff' })) {
      const key = asText(rawKey)
      try {
        const ban = JSON.parse(asText(rawValue)) as Ban
        if (typeof ban.ip !== 'string' || typeof ban.until !== 'number') throw new Error('bad record')
        ban.until = Math.min(ban.until, now + this.options.maxBanTime)
        this.bans.set(ban.ip, ban)
      } catch {
        await store.del(key) // a corrupt record must not stop the broker; it only loses one ban
      }
    }
    return this.bans.size
  }

  /** The active ban of an IP, if any. Hot path: one normalisation and one lookup. */
  bannedUntil (ip: string): Ban | undefined {
    if (this.bans.size === 0) return undefined
    const ban = this.bans.get(this.keyOf(ip))
    return ban !== undefined && ban.until > this.deps.now() ? ban : undefined
  }

  /** Failures of this address (or IPv6 prefix) within the window: the waiting room trusts addresses with none. */
  recentFailures (rawIp: string): number {
    const list = this.ipFailures.get(this.keyOf(rawIp))
    if (list === undefined) return 0
    const from = this.deps.now() - this.options.window
    let n = 0
    for (const t of list) if (t > from) n++
    return n
  }

  /** The counting and ban key: the address, or its IPv6 prefix. */
  keyOf (rawIp: string): string {
    const ip = normalizeIp(rawIp)
    const prefix = this.options.ipv6Prefix
    if (!ip.includes(':') || prefix >= 128) return ip
    if (ip.includes('/')) return ip // already a prefix (unban of a listed key)
    const net = parseCidr(`${ip}/${prefix}`)
    return net === undefined ? ip : `${formatIp(net.bytes)}/${prefix}`
  }

  /** Counts one failure; returns the new ban when this failure caused one. */
  recordFailure (rawIp: string, user: string | undefined): Ban | undefined {
    const o = this.options
    if (!o.enabled) return undefined
    const ip = normalizeIp(rawIp)
    if (this.ignore.contains(ip)) return undefined
    const now = this.deps.now()
    if (this.bannedUntil(ip) !== undefined) return undefined
    const key = this.keyOf(ip)
    const ipCount = this.count(this.ipFailures, key, now, o.ipFailures)
    const userCount = user === undefined || o.userFailures <= 0 ? 0 : this.count(this.userFailures, user, now, o.userFailures + 1)
    const userUnderAttack = o.userFailures > 0 && userCount > o.userFailures
    if (ipCount < o.ipFailures && !userUnderAttack) return undefined
    return this.ban(key, ip, ipCount, now)
  }

  private count (map: Map<string, number[]>, key: string, now: number, keep: number): number {
    let list = map.get(key)
    if (list === undefined) {
      if (map.size >= MAX_TRACKED) map.delete(map.keys().next().value as string)
      list = []
      map.set(key, list)
    }
    list.push(now)
    const from = now - this.options.window
    while (list.length > 0 && (list[0] <= from || list.length > keep)) list.shift()
    return list.length
  }

  private ban (key: string, ip: string, failures: number, now: number): Ban {
    const o = this.options
    const previous = this.bans.get(key)
    // Repeat offences are remembered for one maxBanTime after the last ban ended.
    const offences = previous !== undefined && previous.until + o.maxBanTime > now ? previous.offences + 1 : 1
    const duration = Math.min(o.banTime * 2 ** Math.min(offences - 1, 30), o.maxBanTime)
    const ban: Ban = { ip: key, since: now, until: now + duration, failures, offences }
    this.bans.set(key, ban)
    this.ipFailures.delete(key)
    // ip= is the address that tripped the ban (the agreed Fail2Ban line); the ban itself may cover its /64.
    this.deps.logger.warn('banned', { ip, until: new Date(ban.until).toISOString(), failures })
    this.persist(ban)
    return ban
  }

  private persist (ban: Ban): void {
    const store = this.deps.store
    if (store === undefined) return
    // Not awaited: the ban is in force in memory at once; the write only has to outlive a restart.
    const write = store.put(BAN_PREFIX + ban.ip, JSON.stringify(ban)).catch((err: Error) => {
      this.deps.logger.error('cannot store ban', { ip: ban.ip, error: err.message })
    }).finally(() => { this.pending.delete(write) })
    this.pending.add(write)
  }

  /** Waits for ban writes in flight (before the store closes). */
  async flush (): Promise<void> {
    await Promise.all([...this.pending])
  }

  /** Active bans, soonest to end first. */
  list (): Ban[] {
    const now = this.deps.now()
    return [...this.bans.values()].filter((b) => b.until > now).sort((a, b) => a.until - b.until)
  }

  /** Lifts a ban and forgets the IP's history; false when it was not banned. */
  async unban (rawIp: string, by: string): Promise<boolean> {
    const key = this.keyOf(rawIp)
    const active = this.bannedUntil(key) !== undefined
    this.bans.delete(key)
    this.ipFailures.delete(key)
    await this.deps.store?.del(BAN_PREFIX + key)
    if (active) this.deps.logger.info('unbanned', { ip: key, by })
    return active
  }

  /** Drops expired bans whose history is past remembering (called now and then). */
  async prune (): Promise<void> {
    const now = this.deps.now()
    for (const ban of [...this.bans.values()]) {
      if (ban.until + this.options.maxBanTime <= now) {
        this.bans.delete(ban.ip)
        await this.deps.store?.del(BAN_PREFIX + ban.ip)
      }
    }
  }
}

function asText (v: unknown): string {
  if (typeof v === 'string') return v
  if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8')
  return JSON.stringify(v)
}
