// The request handler of the http/https listeners: /metrics (Prometheus text),
// /health/live and /health/ready, the JSON API under /api/v1/ and the
// read-only status page at /. Read-only: GET and HEAD only, nothing changes
// the broker. Every request is rate limited per IP before anything else
// runs; unknown paths get 404. Bounds on headers and time are the server's
// (src/listeners/start-listener.ts).
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ListenerConfig } from '../config/types.ts'
import { normalizeIp } from '../listeners/start-listener.ts'
import { TokenBucket } from '../throttle/token-bucket.ts'
import type { HttpAccess } from './http-access.ts'
import type { Observatory } from './observatory.ts'
import { STATUS_CSS, STATUS_HTML, STATUS_JS } from './status-page.ts'

/** Most per-IP request buckets kept; the oldest go first (bounded memory under a spoofed-source flood). */
const MAX_BUCKETS = 4096
/** Largest page of /api/v1/clients. */
const MAX_PAGE = 200

type Route = (ctx: RequestContext) => Promise<Answer> | Answer

interface RequestContext { url: URL, listener: ListenerConfig }

interface Answer { status: number, type: string, body: string | Buffer, headers?: Record<string, string> }

/** A small route table: path → (public?, handler). */
interface RouteEntry { open: 'health' | 'never' | 'always', handle: Route }

const json = (value: unknown, status = 200): Answer => ({ status, type: 'application/json; charset=utf-8', body: JSON.stringify(value) })

// The page is static; the browser may run only our own script and style
// (no inline code, nothing from elsewhere: client ids are attacker-chosen text).
const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store'
}

/** The handler shared by every http/https listener of a broker. */
export class HttpApp {
  readonly #observe: Observatory
  readonly #access: HttpAccess
  readonly #buckets = new Map<string, TokenBucket>()
  readonly #routes = new Map<string, RouteEntry>()
  /** Answers by listener and status, for edgemq_http_requests_total. */
  readonly #answered = new Map<string, { listener: string, code: string, n: number }>()

  constructor (observe: Observatory, access: HttpAccess) {
    this.#observe = observe
    this.#access = access
    const o = observe
    this.#routes.set('/health/live', { open: 'health', handle: () => json({ status: 'live', pid: process.pid, uptimeSeconds: Math.round(process.uptime()) }) })
    this.#routes.set('/health/ready', { open: 'health', handle: () => this.#ready() })
    this.#routes.set('/metrics', { open: 'never', handle: async () => ({ status: 200, type: o.metrics.contentType, body: await o.metrics.text() }) })
    this.#routes.set('/api/v1/', { open: 'never', handle: () => json({ endpoints: API_ENDPOINTS }) })
    this.#routes.set('/api/v1/status', { open: 'never', handle: async () => json(await this.#status()) })
    this.#routes.set('/api/v1/clients', { open: 'never', handle: ({ url }) => json(pageClients(o.status('clients'), url.searchParams)) })
    for (const name of ['bridges', 'bans', 'throttles', 'listeners', 'memory', 'store', 'certificates', 'board']) {
      this.#routes.set(`/api/v1/${name}`, { open: 'never', handle: () => json({ [name]: o.status(name) ?? null }) })
    }
    this.#routes.set('/api/v1/metrics', { open: 'never', handle: async () => json({ metrics: Object.fromEntries(await o.metrics.samples()) }) })
    this.#routes.set('/', { open: 'never', handle: () => ({ status: 200, type: 'text/html; charset=utf-8', body: STATUS_HTML }) })
    this.#routes.set('/status.js', { open: 'never', handle: () => ({ status: 200, type: 'text/javascript; charset=utf-8', body: STATUS_JS }) })
    // Browsers ask for it on every page: an empty answer, no credentials needed, nothing revealed.
    this.#routes.set('/favicon.ico', { open: 'always', handle: () => ({ status: 204, type: 'image/x-icon', body: '' }) })
    this.#routes.set('/status.css', { open: 'never', handle: () => ({ status: 200, type: 'text/css; charset=utf-8', body: STATUS_CSS }) })
  }

  /** Answers counted so far (for the metrics reader). */
  answered (): Iterable<{ listener: string, code: string, n: number }> {
    return this.#answered.values()
  }

  /** Handles one request of listener `listener`. */
  handle (listener: ListenerConfig, req: IncomingMessage, res: ServerResponse): void {
    void this.#answer(listener, req).then((a) => { this.#send(listener, req, res, a) }, (err: Error) => {
      this.#send(listener, req, res, json({ error: 'internal error', detail: err.message }, 500))
    })
  }

  async #answer (listener: ListenerConfig, req: IncomingMessage): Promise<Answer> {
    const ip = normalizeIp(req.socket.remoteAddress)
    if (!this.#take(listener, ip)) return { ...json({ error: 'too many requests' }, 429), headers: { 'Retry-After': '1' } }
    let url: URL
    try {
      url = new URL(req.url ?? '/', 'http://edgemq.invalid')
    } catch {
      return json({ error: 'bad request' }, 400)
    }
    const route = this.#routes.get(url.pathname === '/api/v1' ? '/api/v1/' : url.pathname)
    if (route === undefined) return json({ error: 'not found', path: url.pathname.slice(0, 200) }, 404)
    if (req.method !== 'GET' && req.method !== 'HEAD') return { ...json({ error: 'method not allowed: this API is read-only' }, 405), headers: { Allow: 'GET, HEAD' } }
    if (route.open !== 'always' && !(route.open === 'health' && listener.openHealth === true)) {
      const access = await this.#access.check(listener, req, ip)
      if (!access.ok) {
        return { ...json({ error: access.why }, access.status), headers: access.status === 401 ? { 'WWW-Authenticate': this.#access.challenge(listener) } : undefined }
      }
    }
    return await route.handle({ url, listener })
  }

  #send (listener: ListenerConfig, req: IncomingMessage, res: ServerResponse, a: Answer): void {
    const key = `${listener.name}\n${a.status}`
    const counted = this.#answered.get(key)
    if (counted !== undefined) counted.n++
    else if (this.#answered.size < 256) this.#answered.set(key, { listener: listener.name, code: String(a.status), n: 1 })
    if (res.headersSent || res.destroyed) return
    const body = typeof a.body === 'string' ? Buffer.from(a.body, 'utf8') : a.body
    res.writeHead(a.status, { ...SECURITY_HEADERS, ...a.headers, 'Content-Type': a.type, 'Content-Length': String(body.length) })
    res.end(req.method === 'HEAD' ? undefined : body)
  }

  /** Per-IP request rate of a listener (requestRate, requestBurst). */
  #take (listener: ListenerConfig, ip: string): boolean {
    const key = `${listener.name}\n${ip}`
    const rate = (listener.requestRate as number | undefined) ?? 5
    const burst = (listener.requestBurst as number | undefined) ?? 20
    let b = this.#buckets.get(key)
    if (b === undefined) {
      if (this.#buckets.size >= MAX_BUCKETS) this.#buckets.delete(this.#buckets.keys().next().value as string)
      b = new TokenBucket(rate, burst, () => performance.now())
      this.#buckets.set(key, b)
    } else if (b.rate !== rate || b.burst !== burst) {
      b.setRate(rate, burst)
    }
    return b.tryTake(1)
  }

  #ready (): Answer {
    const r = this.#observe.readiness()
    // Bridges are reported, but an uplink that is down does not make the
    // gateway unready: local clients are still served and messages queue.
    const bridges = (this.#observe.status('bridges') as Array<{ name: string, connected: boolean, enabled: boolean }> | undefined) ?? []
    return json({ ready: r.ready, checks: r.checks, bridges: bridges.map((b) => ({ name: b.name, enabled: b.enabled, connected: b.connected })) }, r.ready ? 200 : 503)
  }

  async #status (): Promise<Record<string, unknown>> {
    const o = this.#observe
    const samples = await o.metrics.samples()
    const total = (name: string): number => (samples.get(name) ?? []).reduce((n, s) => n + s.value, 0)
    const clients = o.status('clients') as unknown[] | undefined
    const r = o.readiness()
    return {
      broker: { ...(o.status('broker') as object ?? {}), ready: r.ready, checks: r.checks },
      board: o.status('board') ?? null,
      counts: {
        clientsConnected: clients?.length ?? 0,
        messagesReceived: total('edgemq_messages_received_total'),
        messagesSent: total('edgemq_messages_sent_total'),
        messagesDropped: total('edgemq_messages_dropped_total'),
        connectsRefused: total('edgemq_connects_refused_total'),
        retainedMessages: total('edgemq_retained_messages'),
        subscriptions: total('edgemq_subscriptions'),
        sessions: total('edgemq_sessions'),
        inflightMessages: total('edgemq_inflight_messages'),
        // null until the store has counted its queues after start
        offlineQueueMessages: samples.get('edgemq_offline_queue_messages')?.[0]?.value ?? null,
        offlineQueueBytes: samples.get('edgemq_offline_queue_bytes')?.[0]?.value ?? null,
        eventLoopDelayP99Seconds: (samples.get('edgemq_event_loop_delay_seconds') ?? []).find((s) => String(s.labels.quantile) === '0.99')?.value ?? 0
      },
      listeners: o.status('listeners') ?? [],
      bridges: o.status('bridges') ?? [],
      bans: o.status('bans') ?? [],
      throttles: o.status('throttles') ?? null,
      memory: o.status('memory') ?? null,
      store: o.status('store') ?? null,
      certificates: o.status('certificates') ?? []
    }
  }
}

/** One connected client as the API lists it. */
export interface ClientRow { id: string, user?: string, ip: string, listener: string, protocol: string, connectedSeconds: number }

/** `/api/v1/clients?q=&offset=&limit=`: a page of clients whose id, user or IP contains q. */
export function pageClients (all: unknown, params: URLSearchParams): { total: number, matched: number, offset: number, limit: number, clients: ClientRow[] } {
  const rows = Array.isArray(all) ? all as ClientRow[] : []
  const q = (params.get('q') ?? '').trim().toLowerCase().slice(0, 256)
  const offset = clampInt(params.get('offset'), 0, 0, Number.MAX_SAFE_INTEGER)
  const limit = clampInt(params.get('limit'), 50, 1, MAX_PAGE)
  const matched = q === '' ? rows : rows.filter((c) => c.id.toLowerCase().includes(q) || (c.user ?? '').toLowerCase().includes(q) || c.ip.toLowerCase().includes(q))
  return { total: rows.length, matched: matched.length, offset, limit, clients: matched.slice(offset, offset + limit) }
}

function clampInt (raw: string | null, fallback: number, min: number, max: number): number {
  const n = raw === null || raw === '' ? NaN : Number(raw)
  return Number.isInteger(n) ? Math.min(max, Math.max(min, n)) : fallback
}

/** The JSON API, as /api/v1/ lists it (docs/observability.md documents each). */
export const API_ENDPOINTS: ReadonlyArray<{ path: string, what: string }> = [
  { path: '/api/v1/status', what: 'everything the status page shows, in one object' },
  { path: '/api/v1/clients?q=&offset=&limit=', what: 'connected clients, paged (limit <= 200), filtered by id, user or IP' },
  { path: '/api/v1/listeners', what: 'listeners: name, type, address, bound' },
  { path: '/api/v1/bridges', what: 'bridges: state, queue depth and age, counters, last error' },
  { path: '/api/v1/bans', what: 'active bans with the seconds left' },
  { path: '/api/v1/throttles', what: 'throttle settings and the clients being throttled' },
  { path: '/api/v1/memory', what: 'memory budget: state, marks, cap, use' },
  { path: '/api/v1/store', what: 'store: sync mode, open, size, journal, syncs' },
  { path: '/api/v1/certificates', what: 'certificates of listeners and bridges with their expiry' },
  { path: '/api/v1/board', what: 'the board profile in force and why' },
  { path: '/api/v1/metrics', what: 'every metric of /metrics as JSON samples' }
]
