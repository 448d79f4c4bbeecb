// IP and CIDR matching for listener allow/deny lists, trusted proxies and
// bans. Every address is widened to 16 bytes (IPv4 as ::ffff:a.b.c.d) so one
// rule matches a client whether the socket reports 10.0.0.5 or
// ::ffff:10.0.0.5 (a dual-stack listener on "::" reports the second form).
import { isIP } from 'node:net'

/** One parsed CIDR range. */
export interface IpRange {
  /** The range as written, for logs and `edgemq audit`. */
  text: string
  /** Network address, 16 bytes. */
  bytes: Uint8Array
  /** Prefix length over the 16-byte form (an IPv4 /8 is /104 here). */
  prefix: number
}

const V4_MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]

/** Parses an IPv4 or IPv6 address (zone ids dropped) into 16 bytes; undefined when it is not one. */
export function parseIp (text: string): Uint8Array | undefined {
  const addr = text.includes('%') ? text.slice(0, text.indexOf('%')) : text
  const family = isIP(addr)
  if (family === 4) return Uint8Array.from([...V4_MAPPED_PREFIX, ...addr.split('.').map(Number)])
  if (family !== 6) return undefined
  let tail: number[] = []
  let body = addr
  // An embedded IPv4 tail (::ffff:1.2.3.4) fills the last 32 bits.
  const lastColon = body.lastIndexOf(':')
  if (body.slice(lastColon + 1).includes('.')) {
    tail = body.slice(lastColon + 1).split('.').map(Number)
    body = body.slice(0, lastColon + 1) + '0:0'
  }
  const [head, rest] = body.includes('::') ? body.split('::') : [body, undefined]
  const headGroups = head === '' ? [] : head.split(':')
  const restGroups = rest === undefined || rest === '' ? [] : rest.split(':')
  const zeros = rest === undefined ? 0 : 8 - headGroups.length - restGroups.length
  const groups = [...headGroups, ...Array<string>(zeros).fill('0'), ...restGroups].map((g) => parseInt(g, 16))
  const out = new Uint8Array(16)
  groups.forEach((g, i) => { out[i * 2] = g >> 8; out[i * 2 + 1] = g & 0xff })
  if (tail.length === 4) out.set(tail, 12)
  return out
}

/** Whether 16 address bytes are an IPv4 address (IPv4-mapped IPv6). */
function isV4Mapped (bytes: Uint8Array): boolean {
  return V4_MAPPED_PREFIX.every((b, i) => bytes[i] === b)
}

/**
 * Canonical text of an address: IPv4-mapped IPv6 becomes plain IPv4, IPv6 is
 * lower-case and compressed. Bans and counters key on this, so an attacker
 * cannot dodge a ban by switching between 1.2.3.4 and ::ffff:1.2.3.4.
 */
export function normalizeIp (text: string): string {
  // Every connection's address comes here (twice): the two common forms skip
  // the parse (~4 % of the broker's CPU in a connect storm, issue 10). A dotted
  // quad isIP accepts is its own canonical text (it refuses leading zeros).
  if (isIP(text) === 4) return text
  if (text.startsWith('::ffff:') && isIP(text.slice(7)) === 4) return text.slice(7)
  const bytes = parseIp(text)
  return bytes === undefined ? text : formatIp(bytes)
}

/** Text of 16 address bytes: IPv4 for IPv4-mapped, else compressed lower-case IPv6 (RFC 5952). */
export function formatIp (bytes: Uint8Array): string {
  if (isV4Mapped(bytes)) return Array.from(bytes.subarray(12)).join('.')
  const groups: number[] = []
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i] << 8) | bytes[i + 1])
  // Longest run of zero groups (length >= 2) becomes "::" (RFC 5952).
  let bestStart = -1; let bestLen = 0
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) { i++; continue }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLen && j - i >= 2) { bestStart = i; bestLen = j - i }
    i = j
  }
  const hex = groups.map((g) => g.toString(16))
  if (bestStart < 0) return hex.join(':')
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`
}

/** Parses "10.0.0.0/8", "fd00::/8", or a bare address (a /32 or /128); undefined when invalid. */
export function parseCidr (text: string): IpRange | undefined {
  const slash = text.indexOf('/')
  const addr = slash < 0 ? text : text.slice(0, slash)
  const bytes = parseIp(addr)
  if (bytes === undefined) return undefined
  const v4 = isIP(addr.split('%')[0]) === 4
  const max = v4 ? 32 : 128
  let bits = max
  if (slash >= 0) {
    const p = text.slice(slash + 1)
    if (!/^\d{1,3}$/.test(p)) return undefined
    bits = Number(p)
    if (bits > max) return undefined
  }
  const prefix = v4 ? 96 + bits : bits
  // Clear host bits so "10.1.2.3/8" means the network 10.0.0.0/8.
  const net = bytes.slice()
  for (let i = 0; i < 16; i++) {
    const keep = Math.max(0, Math.min(8, prefix - i * 8))
    net[i] &= keep === 0 ? 0 : (0xff << (8 - keep)) & 0xff
  }
  return { text, bytes: net, prefix }
}

/** Problem with a list of CIDR strings ("must be ..."), or undefined when every entry parses. */
export function checkCidrList (value: unknown): string | undefined {
  if (!Array.isArray(value)) return 'a list of CIDR ranges such as 192.168.0.0/16 or fd00::/8'
  const bad = value.find((v) => typeof v !== 'string' || parseCidr(v) === undefined)
  return bad === undefined ? undefined : `a list of CIDR ranges such as 192.168.0.0/16 or fd00::/8 (bad entry ${JSON.stringify(bad)})`
}

/** Whether an address (16 bytes) is inside a range. */
export function rangeContains (range: IpRange, bytes: Uint8Array): boolean {
  let bits = range.prefix
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff
    if ((bytes[i] & mask) !== range.bytes[i]) return false
  }
  return true
}

/** A set of ranges; `contains` answers for an address string. */
export class IpRangeSet {
  readonly ranges: readonly IpRange[]

  /** Throws a plain Error naming the first bad entry (config validation catches it earlier). */
  constructor (cidrs: readonly string[]) {
    this.ranges = cidrs.map((c) => {
      const r = parseCidr(c)
      if (r === undefined) throw new Error(`not a CIDR range: ${JSON.stringify(c)}`)
      return r
    })
  }

  /** Whether the address is in any range; an unparsable address is in none. */
  contains (ip: string): boolean {
    if (this.ranges.length === 0) return false
    const bytes = parseIp(ip)
    if (bytes === undefined) return false
    return this.ranges.some((r) => rangeContains(r, bytes))
  }

  get size (): number { return this.ranges.length }
}

/**
 * A listener's allow/deny policy: deny wins; with an allow list, anything not
 * in it is refused; with no allow list, anything not denied passes.
 */
export class IpFilter {
  private readonly allow: IpRangeSet
  private readonly deny: IpRangeSet

  constructor (options: { allow?: readonly string[], deny?: readonly string[] }) {
    this.allow = new IpRangeSet(options.allow ?? [])
    this.deny = new IpRangeSet(options.deny ?? [])
  }

  /** Whether a connection from `ip` may proceed. */
  allows (ip: string): boolean {
    if (this.deny.contains(ip)) return false
    return this.allow.size === 0 || this.allow.contains(ip)
  }
}
