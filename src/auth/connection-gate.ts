// The checks run when a socket is accepted, before a byte of MQTT is read:
// bans, the listener's allow/deny lists, the per-IP connection rate and the
// per-IP cap. All are a few map lookups, so a flood from a banned or denied
// address costs the broker almost nothing (no TLS record, no CONNECT parse,
// no hash).
import { ALLOW, deny, type AcceptInfo, type Decision } from '../broker-hooks.ts'
import type { ListenerConfig } from '../config/types.ts'
import { IpFilter, normalizeIp } from '../listeners/ip-filter.ts'
import { REASON } from '../reason-codes.ts'
import type { Lockout } from './lockout.ts'

/** Most per-IP rate buckets kept; the oldest go first (bounded memory under a spoofed-source flood). */
const MAX_BUCKETS = 50_000

interface Bucket { tokens: number, at: number }

/** Accept-time policy over all listeners; `update` swaps the listener settings on reload. */
export class ConnectionGate {
  private filters = new Map<string, { filter: IpFilter, config: ListenerConfig }>()
  private readonly buckets = new Map<string, Bucket>()
  /** MQTT clients connected per listener+IP. */
  private readonly connected = new Map<string, number>()

  constructor (listeners: readonly ListenerConfig[], private readonly lockout: Lockout, private readonly monotonic: () => number) {
    this.update(listeners)
  }

  /** Rebuilds the per-listener filters (throws on a bad CIDR; config validation reports it first). */
  update (listeners: readonly ListenerConfig[]): void {
    const next = new Map<string, { filter: IpFilter, config: ListenerConfig }>()
    for (const l of listeners) {
      next.set(l.name, { config: l, filter: new IpFilter({ allow: l.allow as string[] | undefined, deny: l.deny as string[] | undefined }) })
    }
    this.filters = next
  }

  /** The accept hook. */
  accept (info: AcceptInfo): Decision {
    const ip = normalizeIp(info.ip)
    if (this.lockout.bannedUntil(ip) !== undefined) return deny(REASON.BANNED, 'banned')
    const l = this.filters.get(info.listener)
    if (l === undefined) return ALLOW
    if (!l.filter.allows(ip)) return deny(REASON.NOT_AUTHORIZED, 'address not allowed on this listener')
    const rate = l.config.connectionRate as number | undefined
    if (rate !== undefined && !this.take(`${info.listener}\n${ip}`, rate, (l.config.connectionBurst as number | undefined) ?? 10)) {
      return deny(REASON.CONNECTION_RATE_EXCEEDED, 'connection rate exceeded')
    }
    const cap = l.config.maxConnectionsPerIp as number | undefined
    if (cap !== undefined && (this.connected.get(`${info.listener}\n${ip}`) ?? 0) >= cap) {
      return deny(REASON.QUOTA_EXCEEDED, 'too many connections from this address')
    }
    return ALLOW
  }

  /** Token bucket per listener+IP: `rate` per second, `burst` at most. */
  private take (key: string, rate: number, burst: number): boolean {
    const now = this.monotonic()
    let b = this.buckets.get(key)
    if (b === undefined) {
      if (this.buckets.size >= MAX_BUCKETS) this.buckets.delete(this.buckets.keys().next().value as string)
      b = { tokens: burst, at: now }
      this.buckets.set(key, b)
    } else {
      b.tokens = Math.min(burst, b.tokens + (now - b.at) / 1000 * rate)
      b.at = now
    }
    if (b.tokens < 1) return false
    b.tokens -= 1
    return true
  }

  /** Whether one more client from this IP fits the listener's per-IP cap (checked again at CONNECT). */
  hasRoom (listener: string, ip: string): boolean {
    const cap = this.filters.get(listener)?.config.maxConnectionsPerIp as number | undefined
    return cap === undefined || (this.connected.get(`${listener}\n${normalizeIp(ip)}`) ?? 0) < cap
  }

  /** Counts a connected client. */
  opened (listener: string, ip: string): void {
    const key = `${listener}\n${normalizeIp(ip)}`
    this.connected.set(key, (this.connected.get(key) ?? 0) + 1)
  }

  /** Uncounts a client that went away. */
  closed (listener: string, ip: string): void {
    const key = `${listener}\n${normalizeIp(ip)}`
    const n = (this.connected.get(key) ?? 1) - 1
    if (n <= 0) this.connected.delete(key)
    else this.connected.set(key, n)
  }
}
