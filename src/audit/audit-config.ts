// `edgemq audit`: checks a config against the practices docs/security.md
// explains, and says how to fix each finding. Also run at start (findings
// logged). Pure over the config plus the files it names.
import { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import type { EdgemqConfig, ListenerConfig } from '../config/types.ts'
import { isLoopback } from '../config/load-config.ts'
import { loadAcl } from '../acl/load-acl.ts'
import type { AclPolicy } from '../acl/acl-policy.ts'
import { parsePasswordFile } from '../auth/password-file.ts'
import { SCRYPT_DEFAULTS, weaknessOf, type PasswordHash } from '../auth/password-hash.ts'
import type { PasswordEntry } from '../auth/password-file.ts'
import { compareWithBoard, describeScrypt } from '../auth/scrypt-cost.ts'
import { costClassOf } from '../auth/login-cost.ts'
import { checkStorePrivacy } from '../persistence/check-store-access.ts'
import { parseCidr, rangeContains, parseIp } from '../listeners/ip-filter.ts'
import { auditBridges } from './audit-bridges.ts'
import type { Severity } from './severity.ts'

export type { Severity } from './severity.ts'

/** One finding. */
export interface Finding {
  severity: Severity
  /** Stable id of the check, e.g. "public-plaintext". */
  check: string
  /** Listener name or config key it is about. */
  where: string
  message: string
  fix: string
}

const PRIVATE = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '127.0.0.0/8', 'fc00::/7', 'fe80::/10', '::1/128']

/** Whether every range of an allow list is private (RFC 1918, ULA, loopback). */
function allPrivate (allow: readonly string[]): boolean {
  const priv = PRIVATE.map((c) => parseCidr(c)!)
  return allow.length > 0 && allow.every((a) => {
    const r = parseCidr(a)
    return r !== undefined && priv.some((p) => p.prefix <= r.prefix && rangeContains(p, r.bytes))
  })
}

/** Runs every check. */
export async function auditConfig (config: EdgemqConfig): Promise<Finding[]> {
  const out: Finding[] = []
  const add = (severity: Severity, check: string, where: string, message: string, fix: string): void => { out.push({ severity, check, where, message, fix }) }
  const auth = (config.auth ?? {}) as { passwordFile?: string, aclFile?: string, lockout?: { enabled?: boolean }, scryptN?: number }
  const publicListeners = config.listeners.filter((l) => !isLoopback(l.host))

  for (const l of config.listeners) auditListener(l, add)
  const seen = new Map<string, string>()
  for (const l of config.listeners) {
    const key = `${l.host}:${l.port}`
    if (l.port !== 0 && seen.has(key)) add('medium', 'duplicate-listener', l.name, `listens on ${key} like ${seen.get(key) ?? ''}`, 'remove one of the two listeners')
    seen.set(key, l.name)
  }

  // ACL
  let acl: AclPolicy | undefined
  try {
    acl = await loadAcl({ aclFile: auth.aclFile, inline: config.acl })
  } catch (err) {
    add('high', 'acl-invalid', 'auth.aclFile', (err as Error).message, 'fix the ACL file')
  }
  if (acl === undefined && !out.some((f) => f.check === 'acl-invalid')) {
    add('high', 'no-acl', 'auth.aclFile', 'no ACL: every client may publish and subscribe to every topic', 'set auth.aclFile (groups and rules) or an acl: section; docs/security.md has a starting ACL')
  }
  if (acl !== undefined) {
    for (const r of acl.rules) {
      if (r.effect === 'allow' && r.write && r.topic === '#' && (r.subject.kind === 'all' || r.subject.kind === 'anonymous')) {
        add('high', 'allow-all-acl', r.where, `rule lets ${r.subject.kind === 'all' ? 'everyone' : 'anonymous clients'} write every topic (#)`, 'grant narrower filters per group, e.g. sensors/%u/#')
      }
    }
  }

  // Password file
  if (auth.passwordFile !== undefined) {
    try {
      const s = await stat(auth.passwordFile)
      if ((s.mode & 0o026) !== 0) add('high', 'password-file-mode', auth.passwordFile, `mode ${(s.mode & 0o777).toString(8)}: group-writable or world-readable`, `chmod 600 ${auth.passwordFile}`)
      const { entries, plain } = parsePasswordFile(await readFile(auth.passwordFile, 'utf8'), auth.passwordFile, { allowPlain: true })
      if (plain.length > 0) add('high', 'password-plaintext', auth.passwordFile, `${plain.length} plain-text password(s) (line ${plain[0].line})`, `edgemq passwd -U ${auth.passwordFile}`)
      const weak = entries.map((e) => ({ e, w: weaknessOf(e.hash) })).filter((x) => x.w !== undefined)
      const legacy = weak.filter((x) => x.e.hash.scheme === 'sha512')
      if (legacy.length > 0) add('high', 'password-legacy-hash', auth.passwordFile, `${legacy.length} user(s) with ${legacy[0].w ?? ''}, e.g. ${legacy[0].e.user} (line ${legacy[0].e.line})`, `set their passwords again: edgemq passwd ${auth.passwordFile} USER`)
      // scrypt is rated against the board's auth.scryptN below, not against one absolute figure
      const slow = weak.filter((x) => x.e.hash.scheme === 'pbkdf2-sha512')
      if (slow.length > 0) add('medium', 'password-weak-hash', auth.passwordFile, `${slow.length} user(s) with ${slow[0].w ?? ''}, e.g. ${slow[0].e.user} (line ${slow[0].e.line})`, `set their passwords again with edgemq passwd (scrypt): edgemq passwd ${auth.passwordFile} USER`)
      auditHashCost(entries, auth.scryptN ?? SCRYPT_DEFAULTS.N, auth.passwordFile, add)
      const mix = describeHashMix(entries.map((e) => e.hash))
      if (mix !== undefined) {
        // Failed logins are padded to the strongest class (src/auth/login-cost.ts), so the mix no longer leaks
        // user names by timing; what is left is that the weakest lines are the ones cracked first offline.
        add(weak.length > 0 ? 'medium' : 'low', 'password-mixed-schemes', auth.passwordFile,
          `hash schemes mixed: ${mix}; failed logins all cost the strongest one (no user enumeration by timing), but a stolen file is only as strong as its weakest line`,
          `set the other users' passwords again with edgemq passwd (scrypt): edgemq passwd ${auth.passwordFile} USER`)
      }
    } catch (err) {
      add('high', 'password-file-invalid', auth.passwordFile, (err as Error).message, 'fix or recreate the file with edgemq passwd')
    }
  } else if (publicListeners.some((l) => l.usernameFromCertificate === undefined || l.usernameFromCertificate === 'off')) {
    add('medium', 'no-password-file', 'auth.passwordFile', 'no password file: clients off loopback can only be anonymous or identified by certificate', 'create one: edgemq passwd /etc/edgemq/passwd USER, then set auth.passwordFile')
  }

  // Limits and throttling
  if (config.limits.maxPacketSize > 16 * 1024 * 1024) add('medium', 'max-packet-size', 'limits.maxPacketSize', `${config.limits.maxPacketSize} bytes: one client can make the broker buffer that much per packet`, 'set limits.maxPacketSize to 256KB (the default) or what your largest message needs')
  // each queued message keeps an entry in memory (docs/persistence.md, "Offline queue bounds"): with no cap a long outage ends the broker
  if (config.persistence.maxQueuedMessagesTotal === 0) add('medium', 'queue-total-uncapped', 'persistence.maxQueuedMessagesTotal', '0: no store-wide cap on queued messages; each keeps ~20 bytes in memory, so a long outage can run the broker out of memory, and a restart counting the queue runs out again', 'remove persistence.maxQueuedMessagesTotal (the default is a fifth of memory.softMark) or set a count')
  if (auth.lockout?.enabled === false) add('high', 'lockout-off', 'auth.lockout.enabled', 'brute-force lockout is off', 'remove auth.lockout.enabled: false')
  auditKeepalive(config, publicListeners.length > 0, add)

  // The store holds retained payloads, sessions, client-id bindings and bans (issue 14).
  const store = await checkStorePrivacy(config.persistence.path)
  if (store !== undefined) add(config.persistence.encryptionKeyFile === undefined ? 'high' : 'medium', 'store-mode', 'persistence.path', store.message.replace(/; fix: .*$/, ''), `chmod -R go-rwx ${config.persistence.path}`)
  auditBridges((config as unknown as { bridges?: unknown }).bridges, add)
  return out
}

// CVE-2020-13849 (SlowITe): with limits.keepaliveStrict off (the default, as
// Mosquitto), a 3.1.1 client may ask for keepalive 0 and the broker then relies
// on TCP keepalive to find the peer dead. Reported so the trade-off is a choice.
function auditKeepalive (config: EdgemqConfig, exposed: boolean, add: (s: Severity, check: string, where: string, message: string, fix: string) => void): void {
  const idle = config.limits.tcpKeepaliveIdle
  const boundS = Math.round(idle / 1000) + LINUX_KEEPALIVE_PROBES_S
  if (exposed && !config.limits.keepaliveStrict) {
    add('low', 'keepalive-lenient', 'limits.keepaliveStrict',
      `3.1.1 clients may connect with keepalive 0 or above limits.keepaliveMax (SlowITe, CVE-2020-13849): a dead one is found by TCP keepalive after about ${boundS} s (tcpKeepaliveIdle + Linux's default 9 probes x 75 s), and the per-IP and global connection caps bound how many can be held`,
      'if every device sends a keepalive of at most limits.keepaliveMax, set limits.keepaliveStrict: true; otherwise keep it and keep the connection caps tight')
  }
  if (idle > 600_000) add('medium', 'tcp-keepalive-slow', 'limits.tcpKeepaliveIdle', `${Math.round(idle / 1000)} s: a dead client with keepalive 0 holds its connection for about ${boundS} s`, 'set limits.tcpKeepaliveIdle to 60s (the default)')
}

/** Linux's defaults: net.ipv4.tcp_keepalive_intvl 75 s x tcp_keepalive_probes 9, after the idle time. */
const LINUX_KEEPALIVE_PROBES_S = 75 * 9

function auditListener (l: ListenerConfig, add: (s: Severity, check: string, where: string, message: string, fix: string) => void): void {
  const name = `listener ${l.name}`
  const loop = isLoopback(l.host)
  const plain = l.type === 'tcp' || l.type === 'ws'
  const allow = (l.allow as string[] | undefined) ?? []
  if (!loop && plain) {
    const lan = allPrivate(allow)
    add(lan ? 'medium' : 'high', 'public-plaintext', name,
      `${l.type} on ${l.host}:${l.port} without TLS${lan ? ' (allow list limited to private ranges)' : ''}: passwords and messages cross the network in clear`,
      lan ? 'use type: tls for anything that can, keep plain tcp for LAN sensors only' : 'use type: tls (or wss) with cert and key, or bind to 127.0.0.1, or set allow: to your LAN ranges')
  }
  if (!loop && l.allowAnonymous) add('high', 'anonymous-public', name, `anonymous clients allowed on ${l.host}`, 'remove allowAnonymous: true and give each device a user (edgemq passwd)')
  if (!loop && l.connectionRate === undefined) add('low', 'no-connection-rate', name, 'no per-IP connection rate limit', 'set connectionRate: 5 (connections per second per IP)')
  if (l.proxyProtocol === true && ((l.trustedProxies as string[] | undefined) ?? []).length === 0) add('high', 'proxy-untrusted', name, 'proxyProtocol is on but trustedProxies is empty: every connection is refused', 'list the load balancer addresses in trustedProxies')
  if (l.requireCertificate && l.crl === undefined) add('low', 'no-crl', name, 'client certificates required but no CRL: a stolen device certificate stays valid until it expires', 'set crl: /etc/edgemq/crl.pem')
  if (!loop && (l.type === 'ws' || l.type === 'wss')) add('low', 'websocket-public', name, `WebSocket listener open on ${l.host}`, 'remove it unless browser clients use it')
  if (allow.length > 0 && loop && !allow.some((a) => { const r = parseCidr(a); const b = parseIp('127.0.0.1'); const b6 = parseIp('::1'); return r !== undefined && ((b !== undefined && rangeContains(r, b)) || (b6 !== undefined && rangeContains(r, b6))) })) {
    add('medium', 'unused-listener', name, 'bound to loopback but its allow list has no loopback address: it can never accept a client', 'remove the listener or fix allow:')
  }
  if ((l.type === 'tls' || l.type === 'wss') && l.cert !== undefined) auditCertificate(l, add)
}

function auditCertificate (l: ListenerConfig, add: (s: Severity, check: string, where: string, message: string, fix: string) => void): void {
  const name = `listener ${l.name}`
  let cert: X509Certificate
  try {
    cert = new X509Certificate(readFileSync(l.cert as string))
  } catch (err) {
    add('high', 'tls-cert-unreadable', name, `cannot read certificate ${l.cert ?? ''}: ${(err as Error).message}`, 'fix cert:')
    return
  }
  const days = (Date.parse(cert.validTo) - Date.now()) / 86_400_000
  if (days < 0) add('high', 'tls-cert-expired', name, `certificate expired on ${cert.validTo}`, 'renew the certificate and send SIGHUP')
  else if (days < 30) add('medium', 'tls-cert-expiring', name, `certificate expires on ${cert.validTo}`, 'renew the certificate and send SIGHUP')
  const key = cert.publicKey
  const bits = key.asymmetricKeyDetails?.modulusLength
  if (key.asymmetricKeyType === 'rsa' && bits !== undefined && bits < 2048) add('high', 'tls-weak-key', name, `RSA key of ${bits} bits`, 'use RSA 2048+ or an EC P-256 key')
}

/** Formats findings as a table: severity, where, finding, fix. */
export function formatFindings (findings: readonly Finding[]): string {
  if (findings.length === 0) return 'no findings\n'
  const order: Record<Severity, number> = { high: 0, medium: 1, low: 2 }
  const rows = [...findings].sort((a, b) => order[a.severity] - order[b.severity]).map((f) => [f.severity.toUpperCase(), f.where, `${f.message} [${f.check}]`, f.fix])
  const head = ['SEVERITY', 'WHERE', 'FINDING', 'FIX']
  const widths = head.map((h, i) => Math.min(60, Math.max(h.length, ...rows.map((r) => r[i].length))))
  const line = (r: string[]): string => r.map((c, i) => i === r.length - 1 ? c : c.padEnd(widths[i])).join('  ')
  return [line(head), ...rows.map(line)].join('\n') + '\n'
}

/**
 * scrypt hashes far cheaper or dearer than the board's auth.scryptN (issue 16):
 * cheaper makes a stolen file cheaper to crack; dearer makes every login on
 * this board hold more memory and time than it was tuned for (a reconnect
 * storm, the memory cap).
 */
function auditHashCost (entries: readonly PasswordEntry[], boardN: number, file: string, add: (severity: Severity, check: string, where: string, message: string, fix: string) => void): void {
  const rated = entries.map((e) => ({ e, c: compareWithBoard(e.hash, boardN) })).filter((x) => x.c !== undefined)
  const cheap = rated.filter((x) => x.c?.verdict === 'cheaper')
  const dear = rated.filter((x) => x.c?.verdict === 'dearer')
  const show = (x: { e: PasswordEntry }): string => x.e.hash.scheme === 'scrypt' ? describeScrypt(x.e.hash.N, x.e.hash.r) : ''
  if (cheap.length > 0) {
    add('medium', 'password-cost-below-board', file,
      `${cheap.length} user(s) hashed with scrypt ${show(cheap[0])}, ${cheap[0].c?.factor ?? 0}x cheaper to crack offline than this board's auth.scryptN ${describeScrypt(boardN)}, e.g. ${cheap[0].e.user} (line ${cheap[0].e.line})`,
      `set their passwords again on this board: edgemq passwd ${file} USER`)
  }
  if (dear.length > 0) {
    add('low', 'password-cost-above-board', file,
      `${dear.length} user(s) hashed with scrypt ${show(dear[0])}, ${dear[0].c?.factor ?? 0}x the memory and time per login of this board's auth.scryptN ${describeScrypt(boardN)}, e.g. ${dear[0].e.user} (line ${dear[0].e.line}): logins after a reboot queue longer and each holds more of the memory cap`,
      `set their passwords again on this board (edgemq passwd ${file} USER), or raise auth.scryptN if the board can afford it`)
  }
}

/** "scrypt N=16384 r=8 (12 users), $7$ 101 iterations (1 user)" when a file holds more than one hash class; else undefined. */
function describeHashMix (hashes: readonly PasswordHash[]): string | undefined {
  const counts = new Map<string, { label: string, n: number }>()
  for (const h of hashes) {
    const label = h.scheme === 'scrypt' ? `scrypt N=${h.N} r=${h.r} p=${h.p}` : h.scheme === 'pbkdf2-sha512' ? `$7$ PBKDF2 ${h.iterations} iterations` : '$6$ SHA-512'
    const c = counts.get(costClassOf(h)) ?? { label, n: 0 }
    c.n++
    counts.set(costClassOf(h), c)
  }
  if (counts.size < 2) return undefined
  return [...counts.values()].sort((a, b) => b.n - a.n).map((c) => `${c.label} (${c.n} user${c.n === 1 ? '' : 's'})`).join(', ')
}
