// Who may read an http/https listener: a bearer token from a file (mode 0600,
// re-read on every reload) or a user of the password file in the listener's
// apiGroup (HTTP Basic over the security part's verifier, its queue and its
// lockout). The health endpoints may be open (openHealth, default on
// loopback only). Tokens are compared in constant time.
import { createHash, timingSafeEqual } from 'node:crypto'
import { readFile, stat } from 'node:fs/promises'
import type { IncomingMessage } from 'node:http'
import type { EdgemqConfig, ListenerConfig } from '../config/types.ts'
import { EdgemqError, ERROR_CODES } from '../errors.ts'
import type { Observatory } from './observatory.ts'

/** The outcome of checking a request's credentials. */
export type AccessResult = { ok: true, who: string } | { ok: false, status: 401 | 403 | 503, why: string }

/** Shortest token accepted: a guessable token would make the whole API guessable. */
const MIN_TOKEN_LENGTH = 16

/** Reads a token file: it must exist, be mode 0600 (or stricter) and hold one token of 16+ characters. */
export async function readTokenFile (path: string, listener: string): Promise<Buffer> {
  const fail = (problem: string, fix: string): never => { throw new EdgemqError(ERROR_CODES.CONFIG_INVALID, `listener ${listener}: tokenFile ${path} ${problem}: ${fix}`) }
  let text: string
  try {
    const st = await stat(path)
    // Readable by group or others: anyone on the gateway could read the metrics.
    if ((st.mode & 0o077) !== 0) fail(`has mode ${(st.mode & 0o777).toString(8)}`, `chmod 600 ${path}`)
    text = await readFile(path, 'utf8')
  } catch (err) {
    if (err instanceof EdgemqError) throw err
    return fail(`cannot be read (${(err as Error).message})`, 'create it with a random token: openssl rand -hex 32 > FILE; chmod 600 FILE')
  }
  const token = text.trim()
  if (token.length < MIN_TOKEN_LENGTH || /\s/.test(token)) fail(`must hold one token of at least ${MIN_TOKEN_LENGTH} characters without spaces`, 'openssl rand -hex 32 > FILE')
  return digest(token)
}

/** The access rules of every http listener, reloaded all at once. */
export class HttpAccess {
  #tokens = new Map<string, Buffer>()
  readonly #observe: Observatory

  constructor (observe: Observatory) {
    this.#observe = observe
  }

  /** Reads the token files of a config's http listeners; throws (changing nothing) when one is bad. */
  async load (config: EdgemqConfig): Promise<void> {
    (await this.prepare(config)).commit()
  }

  /**
   * Reads and checks the token files without applying them (reload's first half);
   * commit swaps them in, undo puts back the tokens that were in force before the
   * commit, without reading any file again.
   */
  async prepare (config: EdgemqConfig): Promise<{ commit: () => void, undo: () => void }> {
    const next = new Map<string, Buffer>()
    for (const l of config.listeners) {
      if ((l.type !== 'http' && l.type !== 'https') || typeof l.tokenFile !== 'string') continue
      next.set(l.name, await readTokenFile(l.tokenFile, l.name))
    }
    let before = this.#tokens
    return {
      commit: () => { before = this.#tokens; this.#tokens = next },
      undo: () => { this.#tokens = before }
    }
  }

  /** Checks a request's Authorization header against the listener's rules. */
  async check (listener: ListenerConfig, req: IncomingMessage, ip: string): Promise<AccessResult> {
    const header = req.headers.authorization ?? ''
    const space = header.indexOf(' ')
    const scheme = space < 0 ? '' : header.slice(0, space).toLowerCase()
    const value = space < 0 ? '' : header.slice(space + 1).trim()
    if (scheme === 'bearer') {
      const token = this.#tokens.get(listener.name)
      if (token !== undefined && timingSafeEqual(token, digest(value))) return { ok: true, who: 'token' }
      return { ok: false, status: 401, why: 'bad token' }
    }
    if (scheme === 'basic' && typeof listener.apiGroup === 'string') {
      const decoded = Buffer.from(value, 'base64').toString('utf8')
      const colon = decoded.indexOf(':')
      if (colon <= 0) return { ok: false, status: 401, why: 'malformed Basic credentials' }
      const user = decoded.slice(0, colon)
      const r = await this.#observe.verifyUser(ip, listener.name, user, Buffer.from(decoded.slice(colon + 1), 'utf8'))
      if (!r.ok) return r.busy ? { ok: false, status: 503, why: 'too many logins in progress' } : { ok: false, status: 401, why: 'bad user name or password' }
      if (!r.groups.includes(listener.apiGroup)) return { ok: false, status: 403, why: `user not in group ${listener.apiGroup}` }
      return { ok: true, who: `user ${user}` }
    }
    return { ok: false, status: 401, why: 'credentials required' }
  }

  /** The WWW-Authenticate header for a 401 on this listener. */
  challenge (listener: ListenerConfig): string {
    return typeof listener.apiGroup === 'string' ? 'Basic realm="edgemq", charset="UTF-8"' : 'Bearer realm="edgemq"'
  }
}

/** SHA-256 of a token: equal-length buffers for timingSafeEqual whatever was sent. */
function digest (token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest()
}
