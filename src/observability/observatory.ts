// What the broker and its parts show to the outside, in one place per broker:
// the metrics registry, named status sections (lists the JSON API and the
// status page read: clients, bridges, bans), the readiness checks, and the
// HTTP Basic verifier the security part lends to the http listeners. It only
// reads; nothing here changes how the broker behaves.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ListenerConfig } from '../config/types.ts'
import { MetricsRegistry } from './metrics-registry.ts'

/** Answers a request of an http/https listener. */
export type HttpHandler = (listener: ListenerConfig, req: IncomingMessage, res: ServerResponse) => void

/** The result of checking an HTTP Basic login. */
export type UserCheck = { ok: true, groups: readonly string[] } | { ok: false, busy: boolean }

/** Verifies a user name and password from an HTTP Basic header (the security part provides it). */
export type UserVerifier = (ip: string, listener: string, user: string, password: Buffer) => Promise<UserCheck>

/** One readiness check: a name and whether it holds. */
export interface ReadinessCheck { name: string, ok: boolean, detail?: string }

/** A status section: called when the API or the page asks for it. */
export type StatusSection = () => unknown

/** The observability hub of one broker. */
export class Observatory {
  readonly metrics = new MetricsRegistry()
  readonly #sections = new Map<string, StatusSection>()
  readonly #checks = new Map<string, () => ReadinessCheck | ReadinessCheck[]>()
  #verifier: UserVerifier | undefined
  #http: HttpHandler | undefined
  #started = false

  /** The observability part sets the http listeners' handler here. */
  setHttpHandler (handler: HttpHandler | undefined): void {
    this.#http = handler
  }

  /** Answers a request; without the observability part every path is 404. */
  handleHttp (listener: ListenerConfig, req: IncomingMessage, res: ServerResponse): void {
    if (this.#http !== undefined) { this.#http(listener, req, res); return }
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n')
  }

  /** Adds (or replaces) a named status section. */
  addStatus (name: string, section: StatusSection): void {
    this.#sections.set(name, section)
  }

  /** Reads one status section (undefined when no part provides it). */
  status (name: string): unknown {
    return this.#sections.get(name)?.()
  }

  /** The names of the status sections. */
  statusNames (): string[] {
    return [...this.#sections.keys()]
  }

  /** Adds a readiness check (store open, listeners bound). */
  addReadiness (name: string, check: () => ReadinessCheck | ReadinessCheck[]): void {
    this.#checks.set(name, check)
  }

  /** Called once the broker has started every part and bound every listener. */
  markStarted (): void { this.#started = true }

  /** Called when the broker stops. */
  markStopping (): void { this.#started = false }

  /** Readiness: every part started, and every check holds. */
  readiness (): { ready: boolean, checks: ReadinessCheck[] } {
    const checks: ReadinessCheck[] = [{ name: 'started', ok: this.#started, detail: this.#started ? 'every part started' : 'starting or stopping' }]
    for (const check of this.#checks.values()) {
      const r = check()
      checks.push(...(Array.isArray(r) ? r : [r]))
    }
    return { ready: checks.every((c) => c.ok), checks }
  }

  /** The security part lends its password verifier here. */
  setUserVerifier (verifier: UserVerifier | undefined): void {
    this.#verifier = verifier
  }

  /** Checks an HTTP Basic login; without a password file nobody logs in. */
  async verifyUser (ip: string, listener: string, user: string, password: Buffer): Promise<UserCheck> {
    if (this.#verifier === undefined) return { ok: false, busy: false }
    return await this.#verifier(ip, listener, user, password)
  }
}
