// `check` means `start` will work (issue 15): every check `start` makes on the
// files, keys, certificates and ports a config names, run without starting
// anything, collecting every problem instead of stopping at the first. Both
// `edgemq check` and `edgemq start` run it (start before it opens anything),
// using the same loaders the parts use, so the two cannot disagree.
//
// Not checked: whether a port is free right now. `edgemq check` is typically
// run next to the running broker before a reload, where its own ports are
// taken; two listeners of the config fighting for one port are checked.
import { stat } from 'node:fs/promises'
import type { EdgemqConfig, ListenerConfig } from './config/types.ts'
import { loadPasswordFile } from './auth/password-file.ts'
import { loadAcl } from './acl/load-acl.ts'
import { checkTlsContext, loadTlsOptions } from './listeners/start-listener.ts'
import { unknownThrottleListeners } from './limits/attach-limits.ts'
import { readBridgeSecrets, toBridgeSpecs } from './bridge/bridge-config.ts'
import { loadTopicSealer } from './crypto/topic-sealer.ts'
import { readKeyFile } from './crypto/key-file.ts'
import { checkStoreAccess } from './persistence/check-store-access.ts'
import { redactSecrets } from './observability/redact-secrets.ts'

/** Every problem `start` would meet with the files and ports of `config` (empty: start will get past them). */
export async function preflightConfig (config: EdgemqConfig): Promise<string[]> {
  const problems: string[] = []
  const attempt = async (fn: () => Promise<unknown>): Promise<void> => {
    try { await fn() } catch (err) { problems.push(...problemsOf(err)) }
  }
  const auth = (config.auth ?? {}) as { passwordFile?: string, aclFile?: string }
  if (auth.passwordFile !== undefined) await attempt(async () => await loadPasswordFile(auth.passwordFile!))
  await attempt(async () => await loadAcl({ aclFile: auth.aclFile, inline: config.acl }))
  for (const l of config.listeners) {
    if (l.type === 'tls' || l.type === 'wss') await attempt(async () => { await checkTls(l) })
  }
  problems.push(...checkPortConflicts(config.listeners))
  const throttleListeners = Object.keys(((config.throttle ?? {}) as { listeners?: Record<string, unknown> }).listeners ?? {})
  const unknown = unknownThrottleListeners(throttleListeners, config.listeners)
  if (unknown !== undefined) problems.push(unknown)
  await attempt(async () => {
    for (const spec of toBridgeSpecs(config)) {
      if (!spec.enabled) continue
      await attempt(async () => await readBridgeSecrets(spec))
      for (const rule of spec.seal) await attempt(async () => await loadTopicSealer(rule))
    }
  })
  for (const p of await checkStoreAccess(config.persistence.path)) problems.push(p.message)
  const keyFile = config.persistence.encryptionKeyFile
  if (keyFile !== undefined) {
    // A missing key is created at start; one that exists must read as a key.
    const exists = await stat(keyFile).then(() => true, () => false)
    if (exists) await attempt(async () => await readKeyFile(keyFile, 'secretbox'))
  }
  return problems.map(redactSecrets)
}

/** Loads a TLS listener's files and builds its context as startListener does. */
async function checkTls (l: ListenerConfig): Promise<void> {
  checkTlsContext(l, await loadTlsOptions(l))
}

const ANY = new Set(['0.0.0.0', '::', ''])

/** Two listeners on one port whose addresses overlap (one binds every address) cannot both start. */
export function checkPortConflicts (listeners: readonly ListenerConfig[]): string[] {
  const problems: string[] = []
  for (let i = 0; i < listeners.length; i++) {
    for (let j = i + 1; j < listeners.length; j++) {
      const a = listeners[i]
      const b = listeners[j]
      if (a.port === 0 || a.port !== b.port) continue
      const overlap = a.host === b.host || ANY.has(a.host) || ANY.has(b.host)
      if (!overlap) continue
      problems.push(`listeners ${a.name} (${a.host}:${a.port}) and ${b.name} (${b.host}:${b.port}) use the same port and ${a.host === b.host ? 'the same address' : 'one of them binds every address'}: the second cannot start (EADDRINUSE); give one of them another port, or bind the wider one to a specific address`)
    }
  }
  return problems
}

function problemsOf (err: unknown): string[] {
  const listed = (err as { problems?: readonly string[] }).problems
  if (Array.isArray(listed) && listed.length > 0) return [...listed]
  return [(err as Error).message]
}
