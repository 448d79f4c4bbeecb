// Every throttle of the broker, as token buckets: inbound bytes/s and
// messages/s globally, per listener and per client (rates by group, by the
// auth layer's overrides, or set at run time over the control socket),
// outbound bytes/s per client, and new connections/s per listener. Pure: it
// returns how long to wait; the limits part turns that into a paused socket.
import { TokenBucket, type MonotonicClock } from './token-bucket.ts'

/** Per-client rates; 0 = unlimited. */
export interface ClientRates {
  inboundBytesPerSecond: number
  inboundMessagesPerSecond: number
  outboundBytesPerSecond: number
}

/** Per-listener rates (all clients of the listener together); 0 or absent = unlimited. */
export interface ListenerRates {
  inboundBytesPerSecond?: number
  inboundMessagesPerSecond?: number
  connectionRate?: number
  connectionBurst?: number
}

/** The throttle.* section of the config, parsed. */
export interface ThrottleSettings {
  global: { inboundBytesPerSecond: number, inboundMessagesPerSecond: number }
  client: ClientRates
  /** Per-client rates for members of a group (the first of a client's groups listed here wins). */
  groups: Readonly<Record<string, Partial<ClientRates>>>
  listeners: Readonly<Record<string, ListenerRates>>
  /** Bucket depth in seconds of rate: how far a quiet client may burst. */
  burstSeconds: number
}

/** Where a client's rates came from, for `edgemq ctl throttle.get`. */
export type RateSource = 'control' | 'override' | 'group' | 'default'

/** One client's buckets. */
export interface ClientThrottle {
  readonly id: string
  readonly listener: string
  readonly groups: readonly string[]
  readonly override: Partial<ClientRates> | undefined
  rates: ClientRates
  source: RateSource
  /** The client's buckets; one shared unlimited bucket stands for each rate of 0 (most clients have no per-client rate). */
  inBytes: TokenBucket
  inMessages: TokenBucket
  outBytes: TokenBucket
  /** Outbound QoS 0 messages dropped by the outbound rate. */
  outboundDropped: number
  /** Total ms this client's reading was paused by the throttle. */
  pausedMs: number
}

const RATE_KEYS = ['inboundBytesPerSecond', 'inboundMessagesPerSecond', 'outboundBytesPerSecond'] as const

/** Reads a partial rate object from config or control input; returns a problem or the rates. */
export function parseRates (value: unknown, where: string): Partial<ClientRates> | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return `${where} must be a mapping of ${RATE_KEYS.join(', ')}`
  const out: Partial<ClientRates> = {}
  for (const [k, v] of Object.entries(value)) {
    if (!(RATE_KEYS as readonly string[]).includes(k)) return `${where}.${k} is not a rate: use ${RATE_KEYS.join(', ')}`
    const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v
    if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) return `${where}.${k} must be a number >= 0 (0 = unlimited): got ${JSON.stringify(v)}`
    out[k as keyof ClientRates] = n
  }
  return out
}

/** All buckets; `update` re-rates them on reload without dropping any client. */
export class Throttle {
  #settings: ThrottleSettings
  readonly #now: MonotonicClock
  readonly #clients = new Map<string, ClientThrottle>()
  /** Rates set over the control socket by client id; they survive reconnects until cleared. */
  readonly #controlRates = new Map<string, Partial<ClientRates>>()
  readonly #globalBytes: TokenBucket
  readonly #globalMessages: TokenBucket
  readonly #listenerBuckets = new Map<string, { bytes: TokenBucket, messages: TokenBucket, connections: TokenBucket }>()
  /**
   * The bucket of every per-client rate of 0 (unlimited): never re-rated, it
   * never counts. Issue 10: three buckets and a rates object per connection
   * were ~0.4 KiB of each idle client's memory with no per-client rate set.
   */
  readonly #unlimited: TokenBucket

  constructor (settings: ThrottleSettings, now: MonotonicClock) {
    this.#settings = settings
    this.#now = now
    this.#globalBytes = new TokenBucket(0, 0, now)
    this.#globalMessages = new TokenBucket(0, 0, now)
    this.#unlimited = new TokenBucket(0, 0, now)
    this.update(settings)
  }

  /** The settings in force. */
  get settings (): ThrottleSettings { return this.#settings }

  /** Applies new settings to every bucket (SIGHUP reload, `throttle.set`). */
  update (settings: ThrottleSettings): void {
    this.#settings = settings
    const b = settings.burstSeconds
    this.#globalBytes.setRate(settings.global.inboundBytesPerSecond, settings.global.inboundBytesPerSecond * b)
    this.#globalMessages.setRate(settings.global.inboundMessagesPerSecond, Math.max(1, settings.global.inboundMessagesPerSecond * b))
    for (const [name, buckets] of this.#listenerBuckets) this.#rateListener(name, buckets)
    for (const c of this.#clients.values()) this.#rateClient(c)
  }

  /** Registers a connected client; `override` is what the auth layer put in overrides.throttle. */
  addClient (id: string, listener: string, groups: readonly string[], override?: Partial<ClientRates>): ClientThrottle {
    const c: ClientThrottle = {
      id, listener, groups, override, rates: this.#settings.client, source: 'default',
      inBytes: this.#unlimited, inMessages: this.#unlimited, outBytes: this.#unlimited,
      outboundDropped: 0, pausedMs: 0
    }
    this.#rateClient(c)
    this.#clients.set(id, c)
    return c
  }

  /** Forgets a client that went away (only when `c` is still the registered one: a takeover registers a new one first). */
  removeClient (c: ClientThrottle): void {
    if (this.#clients.get(c.id) === c) this.#clients.delete(c.id)
  }

  /** The registered client with this id. */
  client (id: string): ClientThrottle | undefined { return this.#clients.get(id) }

  /** Every registered client. */
  clients (): IterableIterator<ClientThrottle> { return this.#clients.values() }

  /** Sets (or with undefined clears) a client's rates at run time; applies at once when it is connected. */
  setControlRates (id: string, rates: Partial<ClientRates> | undefined): void {
    if (rates === undefined) this.#controlRates.delete(id)
    else this.#controlRates.set(id, { ...this.#controlRates.get(id), ...rates })
    const c = this.#clients.get(id)
    if (c !== undefined) this.#rateClient(c)
  }

  /** Rates set over the control socket, by client id. */
  controlRates (): ReadonlyMap<string, Partial<ClientRates>> { return this.#controlRates }

  /**
   * Charges one inbound PUBLISH of `bytes` to the global, listener and client
   * buckets; returns how many ms the client's reading should pause (0 = none).
   */
  chargeInbound (c: ClientThrottle, bytes: number): number {
    const l = this.#listener(c.listener)
    return Math.max(
      this.#globalBytes.take(bytes), this.#globalMessages.take(1),
      l.bytes.take(bytes), l.messages.take(1),
      c.inBytes.take(bytes), c.inMessages.take(1))
  }

  /** Charges an outbound message; false when the client's outbound rate is used up (drop it if QoS 0). */
  chargeOutbound (c: ClientThrottle, bytes: number): boolean {
    if (c.rates.outboundBytesPerSecond <= 0) return true
    if (c.outBytes.available() < 0) { c.outboundDropped++; return false }
    c.outBytes.take(bytes)
    return true
  }

  /** Whether the listener's connection rate lets one more connection in. */
  acceptConnection (listener: string): boolean {
    return this.#listener(listener).connections.tryTake(1)
  }

  #listener (name: string): { bytes: TokenBucket, messages: TokenBucket, connections: TokenBucket } {
    let l = this.#listenerBuckets.get(name)
    if (l === undefined) {
      const n = this.#now
      l = { bytes: new TokenBucket(0, 0, n), messages: new TokenBucket(0, 0, n), connections: new TokenBucket(0, 0, n) }
      this.#rateListener(name, l)
      this.#listenerBuckets.set(name, l)
    }
    return l
  }

  #rateListener (name: string, l: { bytes: TokenBucket, messages: TokenBucket, connections: TokenBucket }): void {
    const r = this.#settings.listeners[name] ?? {}
    const b = this.#settings.burstSeconds
    l.bytes.setRate(r.inboundBytesPerSecond ?? 0, (r.inboundBytesPerSecond ?? 0) * b)
    l.messages.setRate(r.inboundMessagesPerSecond ?? 0, Math.max(1, (r.inboundMessagesPerSecond ?? 0) * b))
    l.connections.setRate(r.connectionRate ?? 0, r.connectionBurst ?? Math.max(1, Math.ceil(r.connectionRate ?? 0)))
  }

  #rateClient (c: ClientThrottle): void {
    const s = this.#settings
    const group = c.groups.find((g) => s.groups[g] !== undefined)
    const control = this.#controlRates.get(c.id)
    // the defaults themselves (never changed in place) when nothing else applies
    c.rates = group === undefined && c.override === undefined && control === undefined
      ? s.client
      : { ...s.client, ...(group === undefined ? {} : s.groups[group]), ...c.override, ...control }
    c.source = control !== undefined ? 'control' : c.override !== undefined ? 'override' : group !== undefined ? 'group' : 'default'
    const b = s.burstSeconds
    c.inBytes = this.#rated(c.inBytes, c.rates.inboundBytesPerSecond, c.rates.inboundBytesPerSecond * b)
    c.inMessages = this.#rated(c.inMessages, c.rates.inboundMessagesPerSecond, Math.max(1, c.rates.inboundMessagesPerSecond * b))
    c.outBytes = this.#rated(c.outBytes, c.rates.outboundBytesPerSecond, c.rates.outboundBytesPerSecond * b)
  }

  /** `bucket` at a new rate: the shared unlimited one for 0, else its own (a new one starts full, as before). */
  #rated (bucket: TokenBucket, rate: number, burst: number): TokenBucket {
    if (rate <= 0) return this.#unlimited
    const own = bucket === this.#unlimited ? new TokenBucket(0, 0, this.#now) : bucket
    own.setRate(rate, burst)
    return own
  }
}
