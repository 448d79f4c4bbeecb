// The security part's one entry point: authentication, the ACL, the lockout
// and IP rules, registered on the broker's hook lists. A reload re-reads the
// password and ACL files and swaps everything at once; a bad file changes
// nothing and connected clients stay (their next message is checked against
// the new rules).
import { ALLOW, deny, type BrokerHooks, type ClientInfo, type ConnectRequest, type Decision } from '../broker-hooks.ts'
import type { EdgemqConfig, ListenerConfig } from '../config/types.ts'
import type { Logger } from '../observability/logger.ts'
import { REASON } from '../reason-codes.ts'
import { canRead, canSubscribe, canWrite, compileAcl, groupsOf, type CompiledAcl } from '../acl/acl-policy.ts'
import { loadAcl } from '../acl/load-acl.ts'
import { auditConfig } from '../audit/audit-config.ts'
import { normalizeIp } from '../listeners/ip-filter.ts'
import { Authenticator, type Credential, type Refusal, type SecurityState } from './authenticator.ts'
import { findRevokedSessions, readListenerCrls } from './revoked-sessions.ts'
import { ClientIdBindings } from './client-id-bindings.ts'
import { ConnectionGate } from './connection-gate.ts'
import { Lockout, type LockoutOptions } from './lockout.ts'
import { loadPasswordFile } from './password-file.ts'
import { costClassOf, FailedLoginFloor, pickDecoy } from './login-cost.ts'
import type { PreparedReload } from '../reload-transaction.ts'
import { decoyHash } from './password-hash.ts'
import { RecentSuccesses } from './login-trust.ts'
import { PasswordVerifier } from './password-verifier.ts'
import { forgetChangedUsers } from './forget-changed-users.ts'
import { VerificationCache } from './verification-cache.ts'
import { WaitingRoom } from './waiting-room.ts'
import type { Observatory } from '../observability/observatory.ts'
import { registerSecurityMetrics, type SecurityCounters } from './security-metrics.ts'

/** Key/value operations on the security sublevel (string values). */
export interface SecurityStore {
  put: (key: string, value: string) => Promise<void>
  del: (key: string) => Promise<void>
  iterator: (options: { gte: string, lt: string }) => AsyncIterable<[unknown, unknown]>
}

/** What attachSecurity needs. */
export interface SecurityContext {
  hooks: BrokerHooks
  /** Metrics, status sections and the HTTP Basic verifier slot (absent in unit tests). */
  observe?: Observatory
  config: EdgemqConfig
  /** Bans and client-id bindings; omit for an in-memory setup (tests, library use). */
  store?: SecurityStore
  logger: Logger
  control?: { register: (command: string, handler: (args: Record<string, unknown>) => Promise<unknown>) => void }
  /** Wall clock in ms (bans must survive a restart); Date.now by default. */
  now?: () => number
  /** Monotonic clock in ms for rate buckets; performance.now by default. */
  monotonic?: () => number
  /** Skip the start-up audit (tests). */
  audit?: boolean
}

/** The running security part. */
export interface SecurityHandle {
  /** SIGHUP: re-reads the files and swaps atomically; throws (changing nothing) when the new files are bad. */
  reload: (config: EdgemqConfig) => Promise<void>
  /** The first half of a reload (src/reload-transaction.ts): reads and checks the files, applies nothing. */
  prepareReload: (config: EdgemqConfig) => Promise<PreparedReload>
  close: () => Promise<void>
  /** The lockout (for tests and the control commands). */
  readonly lockout: Lockout
  /** Verification cache, waiting room and their counters (for tests and $SYS). */
  readonly verifier: PasswordVerifier
}

/** Lockout settings of a config (each default is its row in src/auth/auth-options.ts). */
export function lockoutOptionsOf (config: EdgemqConfig): LockoutOptions {
  return { ...config.auth.lockout }
}

/** Reads the files of a config into a new state (throws when one is bad). */
async function buildState (config: EdgemqConfig, generation: number): Promise<SecurityState> {
  const auth = config.auth
  const passwords = auth.passwordFile === undefined ? undefined : await loadPasswordFile(auth.passwordFile)
  const acl = await loadAcl({ aclFile: auth.aclFile, inline: config.acl })
  // The decoy is the strongest hash class in the file, by the clock (src/auth/login-cost.ts).
  const picked = passwords === undefined ? { decoy: decoyHash(undefined), costMs: 0 } : await pickDecoy([...passwords.users.values()].map((e) => e.hash))
  return {
    listeners: new Map(config.listeners.map((l) => [l.name, l])),
    passwords,
    decoy: picked.decoy,
    floor: new FailedLoginFloor(picked.costMs),
    floorClass: costClassOf(picked.decoy),
    acl,
    bindClientIds: auth.bindClientIds,
    maxClientIdLength: config.limits.maxClientIdLength,
    generation
  }
}

/** Printable form of attacker-supplied text for a log field: no control characters, bounded. */
function clean (text: string | undefined): string {
  if (text === undefined || text === '') return '-'
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?').slice(0, 64)
}

/** Attaches authentication, authorization, lockout and IP rules to the hooks. */
export async function attachSecurity (ctx: SecurityContext): Promise<SecurityHandle> {
  const log = ctx.logger.child('auth')
  const now = ctx.now ?? Date.now
  const monotonic = ctx.monotonic ?? (() => performance.now())
  const auth = ctx.config.auth
  let state = await buildState(ctx.config, 1)
  const lockout = new Lockout(lockoutOptionsOf(ctx.config), { now, logger: log, store: ctx.store })
  const bindings = new ClientIdBindings(ctx.store)
  await lockout.load()
  await bindings.load()
  const gate = new ConnectionGate(ctx.config.listeners, lockout, monotonic)
  const slots = auth.maxConcurrentVerifications
  const room = new WaitingRoom({
    slots,
    reservedSlots: Math.min(auth.reservedVerifications, slots - 1),
    size: auth.maxQueuedVerifications,
    // a login waiting longer than the connect timeout would outlive what the client waits for
    maxWait: Math.min(auth.verificationWait, ctx.config.limits.connectTimeout)
  })
  const cache = new VerificationCache(auth.verificationCacheSize)
  const verifier = new PasswordVerifier(cache, room)
  // "recent" success: as long as the lockout remembers failures
  const successes = new RecentSuccesses(lockoutOptionsOf(ctx.config).window, monotonic)
  const perIpCap = (l: ListenerConfig | undefined): number | undefined => auth.maxVerificationsPerIp ?? (l?.maxConnectionsPerIp as number | undefined)
  const authenticator = new Authenticator(() => state, { lockout, gate, bindings, verifier, successes, perIpCap })
  const refusals = new WeakMap<Decision, Refusal>()
  // Plain counters, bumped only on a refusal (never on the allow path), read at scrape time.
  const counters: SecurityCounters = { authFailures: 0, lockouts: 0, aclPublishDenied: 0, aclSubscribeDenied: 0 }

  // Compiled ACL per client, rebuilt after a reload (generation) or a change of user.
  // Group membership is looked up again from the current ACL at each rebuild, not
  // taken from the CONNECT: a reload that removes a user from a group applies to
  // live sessions at once, on publish, subscribe and every delivery (issue 14;
  // the class of CVE-2021-34434). client.groups follows, for the parts that read it.
  const compiled = new WeakMap<ClientInfo, { generation: number, user?: string, acl?: CompiledAcl }>()
  const aclOf = (client: ClientInfo): CompiledAcl | undefined => {
    const s = state
    if (s.acl === undefined) return undefined
    const hit = compiled.get(client)
    if (hit !== undefined && hit.generation === s.generation && hit.user === client.username) return hit.acl
    client.groups = groupsOf(s.acl, client.username)
    const acl = compileAcl(s.acl, client)
    compiled.set(client, { generation: s.generation, user: client.username, acl })
    return acl
  }

  const hooks = ctx.hooks
  hooks.accept.push((info) => gate.accept(info))
  const decisionOf = (r: Decision | Refusal): Decision => {
    if ('ok' in r) return r
    refusals.set(r.decision, r)
    return r.decision
  }
  // Synchronous unless a password is checked: no promise per anonymous or certificate CONNECT.
  hooks.connect.push((req: ConnectRequest) => {
    const r = authenticator.authenticate(req)
    return r instanceof Promise ? r.then(decisionOf) : decisionOf(r)
  })
  hooks.connectFailed.push((req, decision) => {
    const r = refusals.get(decision)
    if (r === undefined) return
    const fields = { ip: normalizeIp(req.client.ip), user: clean(req.username), client: clean(req.client.id), listener: req.client.listener, reason: r.word }
    if (!r.counts) { log.info('connection refused', fields); return }
    // The line Fail2Ban reads (src/auth/fail2ban/edgemq.conf); keep it stable.
    log.warn('authentication failed', fields)
    counters.authFailures++
    if (lockout.recordFailure(req.client.ip, req.username) !== undefined) counters.lockouts++
  })
  // Sessions closed because their credential was revoked: the identity may no
  // longer publish, so nothing it left behind is published on its behalf (its
  // will, delayed or not, goes out from close() after the revocation). aedes
  // deletes the stored will when its publish is refused.
  const revoked = new WeakSet<ClientInfo>()
  hooks.publish.push((client, msg) => {
    if (revoked.has(client)) {
      // after the close only its will (immediate or delayed) can come here
      log.info('will dropped: credential revoked', { client: clean(client.id), user: clean(client.username), topic: clean(msg.topic) })
      return deny(REASON.NOT_AUTHORIZED, `${msg.isWill ? 'will' : 'publish'} of a revoked session`)
    }
    if (canWrite(aclOf(client), msg.topic)) return ALLOW
    counters.aclPublishDenied++
    return deny(REASON.NOT_AUTHORIZED, `${msg.isWill ? 'will' : 'publish'} to ${msg.topic} not authorized`)
  })
  hooks.subscribe.push((client, filter) => {
    if (canSubscribe(aclOf(client), filter)) return ALLOW
    counters.aclSubscribeDenied++
    return deny(REASON.NOT_AUTHORIZED, `subscription to ${filter} not authorized`)
  })
  hooks.deliver.push((client, topic) => canRead(aclOf(client), topic))
  // Whose is a (possibly offline) session: its client-id binding, and that
  // user's groups in the ACL in force (the per-user queue quota of src/limits/).
  hooks.sessionOwner.push((clientId) => {
    const username = bindings.ownerOf(clientId)
    if (username === undefined) return undefined
    return { username, groups: state.acl === undefined ? [] : groupsOf(state.acl, username) }
  })
  hooks.readable.push((client, topic) => canRead(aclOf(client), topic))
  // Only clients counted in are counted out: a refused CONNECT must not free another client's place.
  const counted = new WeakSet<ClientInfo>()
  // Live sessions with a credential a reload may revoke (password, certificate).
  const live = new Map<ClientInfo, Credential>()
  hooks.connected.push((client) => {
    counted.add(client)
    gate.opened(client.listener, client.ip)
    const credential = authenticator.credentials.get(client)
    if (credential !== undefined) live.set(client, credential)
  })
  hooks.disconnected.push((client) => {
    live.delete(client)
    if (!counted.delete(client)) return
    gate.closed(client.listener, client.ip)
  })

  // After a reload: sessions of deleted users, changed passwords and revoked
  // certificates are closed with DISCONNECT 0x87 (not authorized: the
  // credential the session was opened with is no longer accepted; 0x98
  // "administrative action" would suggest an operator kicked one client), or
  // kept when auth.closeRevokedSessions is false. A log line either way.
  const closeRevoked = async (config: EdgemqConfig, next: SecurityState): Promise<void> => {
    if (live.size === 0) return
    const crls = await readListenerCrls(config.listeners, (listener, path, err) => {
      log.warn('CRL unreadable: live sessions not checked against it', { listener, path, error: err.message })
    })
    const close = config.auth.closeRevokedSessions
    for (const r of findRevokedSessions(live, next, crls)) {
      const fields = { client: clean(r.client.id), user: clean(r.credential.user), ip: normalizeIp(r.client.ip), listener: r.client.listener, why: r.why }
      if (!close) { log.warn('session kept: credential revoked (auth.closeRevokedSessions is false)', fields); continue }
      log.warn('session closed: credential revoked', fields)
      live.delete(r.client)
      revoked.add(r.client)
      r.client.connection.close(REASON.NOT_AUTHORIZED, `credential revoked (${r.why})`)
    }
  }

  ctx.control?.register('bans.list', async () => lockout.list().map((b) => ({ ...b, since: new Date(b.since).toISOString(), until: new Date(b.until).toISOString() })))
  ctx.control?.register('bans.unban', async (args) => {
    if (typeof args.ip !== 'string' || args.ip === '') throw new Error('bans.unban needs an ip')
    return { ip: args.ip, unbanned: await lockout.unban(args.ip, typeof args.by === 'string' ? clean(args.by) : 'control') }
  })
  ctx.control?.register('clients.unbind', async (args) => {
    if (typeof args.clientId !== 'string') throw new Error('clients.unbind needs a clientId')
    return { clientId: args.clientId, unbound: await bindings.unbind(args.clientId) }
  })

  if (ctx.observe !== undefined) {
    registerSecurityMetrics(ctx.observe, { counters, lockout, now })
    // HTTP Basic on the http listeners: the same verifier, waiting room, cache, bans and Fail2Ban line as MQTT.
    ctx.observe.setUserVerifier(async (ip, listener, user, password) => {
      // a full waiting room comes back as a 'busy' refusal
      const r = await authenticator.verifyUser(ip, user, password)
      if (r.ok) return r
      if (r.refusal.word === 'busy') return { ok: false, busy: true }
      const fields = { ip: normalizeIp(ip), user: clean(user), client: '-', listener, reason: r.refusal.word }
      if (!r.refusal.counts) { log.info('http login refused', fields); return { ok: false, busy: false } }
      log.warn('authentication failed', fields)
      counters.authFailures++
      if (lockout.recordFailure(ip, user) !== undefined) counters.lockouts++
      return { ok: false, busy: false }
    })
  }

  const prune = setInterval(() => { void lockout.prune() }, 3_600_000)
  prune.unref()

  if (ctx.audit !== false) {
    for (const f of await auditConfig(ctx.config)) {
      const fields = { check: f.check, where: f.where, finding: f.message, fix: f.fix }
      if (f.severity === 'high') log.warn('audit finding (high)', fields)
      else log.info(`audit finding (${f.severity})`, fields)
    }
  }
  log.info('security ready', {
    passwords: state.passwords?.users.size ?? 0,
    acl: state.acl === undefined ? 'none' : `${state.acl.rules.length} rules`,
    bans: lockout.list().length
  })

  let current = ctx.config
  const apply = (config: EdgemqConfig, next: SecurityState): void => {
    gate.update(config.listeners)
    lockout.setOptions(lockoutOptionsOf(config))
    state = next
    current = config
  }
  const prepareReload = async (config: EdgemqConfig): Promise<PreparedReload> => {
    const next = await buildState(config, state.generation + 1) // throws before anything changes
    const before = { config: current, state }
    return {
      commit: async () => {
        // changed or deleted users lose their cached verification (a cache is only a cache: undo need not restore it)
        const forgotten = forgetChangedUsers(state.passwords, next.passwords)
        apply(config, next)
        await closeRevoked(config, next)
        log.info('security reloaded', { passwords: next.passwords?.users.size ?? 0, acl: next.acl === undefined ? 'none' : `${next.acl.rules.length} rules`, verificationsForgotten: forgotten })
      },
      // a new generation, so per-client ACLs compiled meanwhile are rebuilt
      undo: () => { apply(before.config, { ...before.state, generation: state.generation + 1 }) }
    }
  }

  return {
    lockout,
    reload: async (config) => { await (await prepareReload(config)).commit() },
    prepareReload,
    verifier,
    close: async () => { clearInterval(prune); cache.close(); ctx.observe?.setUserVerifier(undefined); await lockout.flush() }
  }
}
