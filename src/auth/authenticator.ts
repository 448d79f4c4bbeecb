// The CONNECT decision: identity strings, client certificate, password,
// anonymous access per listener, client-id binding, and the will's topic.
// Plain async code over ClientInfo; no aedes types.
import { ALLOW, deny, type ClientInfo, type ConnectRequest, type Decision } from '../broker-hooks.ts'
import type { ListenerConfig } from '../config/types.ts'
import { normalizeIp } from '../listeners/ip-filter.ts'
import { checkConnectIdentity } from '../listeners/packet-checks.ts'
import { REASON } from '../reason-codes.ts'
import { canWrite, compileAcl, groupsOf, type AclPolicy } from '../acl/acl-policy.ts'
import type { ClientIdBindings } from './client-id-bindings.ts'
import type { ConnectionGate } from './connection-gate.ts'
import type { Lockout } from './lockout.ts'
import { checkUsername, type PasswordFile } from './password-file.ts'
import type { PasswordHash } from './password-hash.ts'
import { isTrustedLogin, type RecentSuccesses } from './login-trust.ts'
import type { PasswordVerifier } from './password-verifier.ts'
import { WaitingRoomRefusal } from './waiting-room.ts'
import { costClassOf, padFailure, type FailedLoginFloor } from './login-cost.ts'

/** Everything a reload swaps at once. */
export interface SecurityState {
  listeners: ReadonlyMap<string, ListenerConfig>
  passwords?: PasswordFile
  /** Checked for unknown users so they cost the same as known ones: the strongest hash class in the file. */
  decoy: PasswordHash
  /** Every failed password check lasts at least this (the decoy's running median cost). */
  floor: FailedLoginFloor
  /** costClassOf(decoy): checks of this class feed the floor. */
  floorClass: string
  acl?: AclPolicy
  bindClientIds: boolean
  /** limits.maxClientIdLength, checked at CONNECT. */
  maxClientIdLength?: number
  /** Bumped on every reload: per-client compiled ACLs rebuild. */
  generation: number
}

/** A refusal with the word logged as reason= and whether it counts toward a ban. */
export interface Refusal {
  decision: Decision
  word: string
  counts: boolean
}

/** How a connected client proved who it is: what a reload checks again (issue 14). */
export interface Credential {
  user?: string
  /** The password-file hash text the password matched; undefined when no password was checked. */
  passwordHash?: string
  /** issuer:serial of the client certificate verified in the TLS handshake. */
  certificate?: string
}

/** A refusal of a CONNECT: the decision, the word logged as reason= and whether it counts toward a ban. */
function refuse (code: number, word: string, counts: boolean, reason: string): Refusal {
  return { decision: deny(code, reason), word, counts }
}

/** Runs the CONNECT checks against the current state. */
export class Authenticator {
  /** Credentials of accepted CONNECTs, for the reload's revocation check. */
  readonly credentials = new WeakMap<ClientInfo, Credential>()

  constructor (
    private readonly getState: () => SecurityState,
    private readonly deps: {
      lockout: Lockout
      gate: ConnectionGate
      bindings: ClientIdBindings
      verifier: PasswordVerifier
      successes: RecentSuccesses
      /** Most logins one address may have waiting or hashing (undefined: no cap of its own). */
      perIpCap: (listener: ListenerConfig | undefined) => number | undefined
    }
  ) {}

  /**
   * Decides a CONNECT; on success sets client.username and client.groups.
   * Synchronous unless a password is checked (the KDF runs off the event
   * loop): an anonymous or certificate-only CONNECT costs no promise.
   */
  authenticate (request: ConnectRequest): Decision | Refusal | Promise<Decision | Refusal> {
    const state = this.getState()
    const c = request.client
    const ip = normalizeIp(c.ip)
    const listener = state.listeners.get(c.listener)
    // An empty user name names nobody (no password file entry can have it), so on
    // a listener that allows anonymous clients it is an anonymous CONNECT, as
    // Mosquitto treats it; elsewhere it is refused as a bad user name below.
    const req = request.username === '' && listener?.allowAnonymous === true ? { ...request, username: undefined, password: undefined } : request

    if (this.deps.lockout.bannedUntil(ip) !== undefined) return refuse(REASON.BANNED, 'banned', false, 'banned')
    // Control characters, ill-formed UTF-8 and over-long client ids: a fuzzer or an attacker, not a
    // misconfigured device, so they count toward a ban (issue 14).
    const identity = checkConnectIdentity({ clientId: c.id, username: req.username }, { maxClientIdLength: state.maxClientIdLength })
    if (identity !== undefined) return refuse(identity.reasonCode, identity.reasonCode === REASON.CLIENT_IDENTIFIER_NOT_VALID ? 'bad-client-id' : 'bad-username', true, identity.reason)
    // CVE-2017-7650: wildcards or "/" in these would widen %u/%c ACL patterns.
    if (req.username !== undefined && checkUsername(req.username) !== undefined) {
      return refuse(REASON.BAD_USER_NAME_OR_PASSWORD, 'bad-username', true, `user name ${checkUsername(req.username) ?? ''}`)
    }
    if (c.id !== '' && checkUsername(c.id) !== undefined) {
      return refuse(REASON.CLIENT_IDENTIFIER_NOT_VALID, 'bad-client-id', false, `client id ${checkUsername(c.id) ?? ''}`)
    }
    if (listener?.requireCertificate === true && c.certificate === undefined) {
      return refuse(REASON.NOT_AUTHORIZED, 'no-certificate', true, 'this listener requires a client certificate')
    }

    const fromCert = (listener?.usernameFromCertificate as string | undefined) ?? 'off'
    if (fromCert !== 'off' && c.certificate !== undefined) {
      const name = certificateName(c.certificate, fromCert)
      if (name === undefined || checkUsername(name) !== undefined) return refuse(REASON.NOT_AUTHORIZED, 'certificate-identity', true, `the certificate has no usable ${fromCert === 'cn' ? 'CN' : 'SAN'}`)
      if (req.username !== undefined && req.username !== name) return refuse(REASON.BAD_USER_NAME_OR_PASSWORD, 'certificate-mismatch', true, 'user name differs from the certificate identity')
      if (listener?.requirePassword === true) {
        return this.checkPassword(state, ip, name, req.password, listener, true, c.connection)
          .then((r) => r ?? this.admit(state, ip, req, name, state.passwords?.users.get(name)?.text))
      }
      return this.admit(state, ip, req, name, undefined)
    }
    if (req.username !== undefined) {
      const passwords = state.passwords
      if (passwords === undefined) {
        // Nothing to verify a user name against: never trust a claimed name for the ACL.
        if (listener?.allowAnonymous !== true) return refuse(REASON.BAD_USER_NAME_OR_PASSWORD, 'no-password-file', true, 'no password file is configured (auth.passwordFile)')
        return this.admit(state, ip, req, undefined, undefined)
      }
      const user = req.username
      return this.checkPassword(state, ip, user, req.password, listener, c.certificate !== undefined, c.connection)
        .then((r) => r ?? this.admit(state, ip, req, user, passwords.users.get(user)?.text))
    }
    if (listener?.allowAnonymous !== true) {
      return refuse(REASON.NOT_AUTHORIZED, 'anonymous', true, 'anonymous clients are not allowed on this listener')
    }
    return this.admit(state, ip, req, undefined, undefined)
  }

  /** The checks after the identity is known (user undefined: anonymous), and the client's user, groups, binding and credential. */
  private admit (state: SecurityState, ip: string, req: ConnectRequest, user: string | undefined, passwordHash: string | undefined): Decision | Refusal {
    const c = req.client
    if (state.bindClientIds && c.id !== '') {
      const owner = this.deps.bindings.conflict(c.id, user)
      if (owner !== undefined) return refuse(REASON.CLIENT_IDENTIFIER_NOT_VALID, 'client-id-bound', false, 'this client id belongs to another user')
    }
    if (!this.deps.gate.hasRoom(c.listener, ip)) return refuse(REASON.QUOTA_EXCEEDED, 'too-many-connections', false, 'too many connections from this address')

    c.username = user
    c.groups = groupsOf(state.acl, user)
    // A will is a publish on the client's behalf: check it now, not when the
    // client is gone (failure-modes row 9; aedes #769 published unchecked wills).
    if (req.will !== undefined) {
      const acl = state.acl === undefined ? undefined : compileAcl(state.acl, c as ClientInfo & { username?: string })
      if (!canWrite(acl, req.will.topic)) return refuse(REASON.NOT_AUTHORIZED, 'will-not-authorized', false, `will topic ${req.will.topic} is not writable for this client`)
    }
    // Bound now, not when the client is ready: a rival CONNECT may arrive between CONNACK and clientReady.
    // A session that ends with the connection binds in memory only: no disk write on the clean-session path.
    // A will outlives a crash, so its client's binding is stored (once per client id): the next start
    // checks a will the crash left as its owner, under the ACL then in force.
    const outlives = !req.cleanStart || (req.sessionExpiry !== undefined && req.sessionExpiry > 0) || req.will !== undefined
    if (state.bindClientIds && c.id !== '') this.deps.bindings.bind(c.id, user, outlives)
    if (user !== undefined || c.certificate !== undefined) this.credentials.set(c, { user, passwordHash, certificate: c.certificate?.revocationKey })
    return ALLOW
  }

  /**
   * Checks a user name and password outside MQTT (HTTP Basic on the http
   * listeners): the same bans, verify queue, decoy hash and password file as
   * a CONNECT. On success, the user's ACL groups.
   */
  async verifyUser (ip: string, user: string, password: Buffer): Promise<{ ok: true, groups: readonly string[] } | { ok: false, refusal: Refusal }> {
    const state = this.getState()
    const addr = normalizeIp(ip)
    if (this.deps.lockout.bannedUntil(addr) !== undefined) return { ok: false, refusal: { decision: deny(REASON.BANNED, 'banned'), word: 'banned', counts: false } }
    if (checkUsername(user) !== undefined) return { ok: false, refusal: { decision: deny(REASON.BAD_USER_NAME_OR_PASSWORD, 'bad user name'), word: 'bad-username', counts: true } }
    if (state.passwords === undefined) return { ok: false, refusal: { decision: deny(REASON.BAD_USER_NAME_OR_PASSWORD, 'no password file'), word: 'no-password-file', counts: true } }
    // no listener of its own (per-IP places: auth.maxVerificationsPerIp), no certificate, no socket to watch
    const r = await this.checkPassword(state, addr, user, password, undefined, false, undefined)
    if (r !== undefined) return { ok: false, refusal: r }
    return { ok: true, groups: groupsOf(state.acl, user) }
  }

  /** undefined when the password is right; a refusal otherwise. */
  private async checkPassword (state: SecurityState, ip: string, user: string, password: Buffer | undefined, listener: ListenerConfig | undefined, hasCertificate: boolean, connection: ClientInfo['connection'] | undefined): Promise<Refusal | undefined> {
    const entry = state.passwords?.users.get(user)
    const { lockout, successes, verifier } = this.deps
    const known = hasCertificate || successes.has(ip)
    const ticket = {
      key: lockout.keyOf(ip),
      trusted: isTrustedLogin({ ip, hasCertificate }, { successes, recentFailures: (a) => lockout.recentFailures(a) }),
      known,
      // an address whose first wrong password was verified while its other logins waited loses its trust
      demoted: () => !known && lockout.recentFailures(ip) > 0,
      perKeyCap: this.deps.perIpCap(listener),
      // a flood banned while it waited costs no further hash; nor does a client that hung up
      stillWanted: () => lockout.bannedUntil(ip) === undefined && (connection?.isOpen?.() ?? true)
    }
    let ok: boolean
    const t0 = performance.now()
    try {
      ok = await verifier.verify(user, entry, state.decoy, password, ticket, (kdfMs) => {
        // Checks of the decoy's class (unknown users and users of the strongest class) keep the floor current.
        if (entry === undefined || costClassOf(entry.hash) === state.floorClass) state.floor.record(kdfMs)
      })
    } catch (err) {
      // 0x89 Server busy (3.1.1: 3 Server unavailable): retry later; not a failure toward a ban.
      if (err instanceof WaitingRoomRefusal && err.why === 'abandoned' && lockout.bannedUntil(ip) !== undefined) return { decision: deny(REASON.BANNED, 'banned'), word: 'banned', counts: false }
      if (err instanceof WaitingRoomRefusal) return { decision: deny(REASON.SERVER_BUSY, `too many logins in progress (${err.message})`), word: 'busy', counts: false }
      throw err
    }
    // Time since the check began (a wait for a slot or for an identical check included): the floor pads the rest.
    const tookMs = performance.now() - t0
    if (ok) {
      successes.record(ip)
      return undefined
    }
    // A cheaper hash's failure waits out the strongest class's cost (src/auth/login-cost.ts), after the slot is freed.
    await padFailure(state.floor, tookMs)
    return { decision: deny(REASON.BAD_USER_NAME_OR_PASSWORD, 'bad user name or password'), word: entry === undefined ? 'unknown-user' : 'bad-password', counts: true }
  }
}

/** The user name a certificate gives: its subject CN, or its first SAN without the "DNS:"/"email:" prefix. */
export function certificateName (cert: NonNullable<ClientInfo['certificate']>, from: string): string | undefined {
  if (from === 'cn') return cert.subjectCN === undefined || cert.subjectCN === '' ? undefined : cert.subjectCN
  const san = cert.subjectAltNames[0]
  if (san === undefined) return undefined
  const colon = san.indexOf(':')
  return colon < 0 ? san : san.slice(colon + 1)
}
