// The nested sections of one bridge (auth, tls, topics, queue, reconnect),
// checked and given their defaults. A leaf module: the option table imports
// it, so it must not import the config loader (that would be a cycle).
import { checkDurationUnit, parseDuration, parseSize } from '../config/units.ts'
import { checkTopicFilter, checkTopicPrefix, type TopicRule } from './topic-rules.ts'
import type { QueueLimits } from './bridge-queue.ts'
import type { SealRuleConfig } from '../crypto/topic-sealer.ts'

/** Upstream schemes the bridge can dial. */
export const BRIDGE_SCHEMES = ['mqtt', 'tcp', 'mqtts', 'tls', 'ssl', 'ws', 'wss'] as const

/** Credentials: the password comes from a file or an environment variable, never from the config itself. */
export interface BridgeAuth {
  username?: string
  passwordFile?: string
  passwordEnv?: string
}

/** TLS settings for mqtts/wss upstreams. */
export interface BridgeTls {
  ca?: string
  cert?: string
  key?: string
  servername?: string
  rejectUnauthorized: boolean
  minVersion: 'TLSv1.2' | 'TLSv1.3'
}

/** The nested sections of one bridge, validated, defaults applied. */
export interface BridgeSections {
  auth: BridgeAuth
  tls: BridgeTls
  topics: TopicRule[]
  queue: QueueLimits
  reconnect: { initialDelay: number, maxDelay: number }
  /** Seal rules (docs/envelope.md): payloads of matching local topics are sealed on the way out, opened on the way in. */
  seal: SealRuleConfig[]
}

/** Validates one nested section (not seal: bridge-config.ts parses that with the crypto part's rules). */
export function parseSection (section: Exclude<keyof BridgeSections, 'seal'>, raw: unknown, problems: string[]): unknown {
  const obj = (raw ?? {}) as Record<string, unknown>
  const isMap = (v: unknown): boolean => typeof v === 'object' && v !== null && !Array.isArray(v)
  const known = (keys: readonly string[], where: string, o: Record<string, unknown>): void => {
    for (const k of Object.keys(o)) if (!keys.includes(k)) problems.push(`${where}.${k} is not a known key: use ${keys.join(', ')}`)
  }
  const str = (o: Record<string, unknown>, k: string, where: string): string | undefined => {
    const v = o[k]
    if (v === undefined) return undefined
    if (typeof v !== 'string') { problems.push(`${where}.${k} must be a string: got ${JSON.stringify(v)}`); return undefined }
    return v
  }
  if (section === 'topics') {
    if (!Array.isArray(raw) || raw.length === 0) { problems.push('topics must be a non-empty list of rules such as { filter: sensors/#, direction: out, qos: 1 }'); return [] }
    return raw.map((r, i) => parseRule(r, `topics[${i}]`, problems))
  }
  if (raw !== undefined && !isMap(raw)) { problems.push(`${section} must be a mapping: got ${JSON.stringify(raw)}`); return {} }
  switch (section) {
    case 'auth': {
      known(['username', 'passwordFile', 'passwordEnv'], 'auth', obj)
      const auth: BridgeAuth = { username: str(obj, 'username', 'auth'), passwordFile: str(obj, 'passwordFile', 'auth'), passwordEnv: str(obj, 'passwordEnv', 'auth') }
      if (auth.passwordFile !== undefined && auth.passwordEnv !== undefined) problems.push('auth sets both passwordFile and passwordEnv: keep one')
      if ('password' in obj) problems.push('auth.password is not accepted: put the password in a file (passwordFile, mode 0600) or an environment variable (passwordEnv)')
      return auth
    }
    case 'tls': {
      known(['ca', 'cert', 'key', 'servername', 'rejectUnauthorized', 'minVersion'], 'tls', obj)
      const reject = obj.rejectUnauthorized ?? true
      if (typeof reject !== 'boolean') problems.push(`tls.rejectUnauthorized must be true or false: got ${JSON.stringify(reject)}`)
      const minVersion = obj.minVersion ?? 'TLSv1.2'
      if (minVersion !== 'TLSv1.2' && minVersion !== 'TLSv1.3') problems.push(`tls.minVersion must be TLSv1.2 or TLSv1.3: got ${JSON.stringify(minVersion)}`)
      const tls: BridgeTls = { ca: str(obj, 'ca', 'tls'), cert: str(obj, 'cert', 'tls'), key: str(obj, 'key', 'tls'), servername: str(obj, 'servername', 'tls'), rejectUnauthorized: reject !== false, minVersion: minVersion === 'TLSv1.3' ? 'TLSv1.3' : 'TLSv1.2' }
      if ((tls.cert === undefined) !== (tls.key === undefined)) problems.push('tls needs cert and key together for a client certificate')
      return tls
    }
    case 'queue': {
      known(['maxBytes', 'maxMessages', 'whenFull'], 'queue', obj)
      const maxBytes = parseSize(obj.maxBytes ?? '64MB')
      if (maxBytes === undefined || maxBytes < 1024) problems.push(`queue.maxBytes must be a size of at least 1KB such as 64MB: got ${JSON.stringify(obj.maxBytes)}`)
      const maxMessages = Number(obj.maxMessages ?? 1_000_000)
      if (!Number.isInteger(maxMessages) || maxMessages < 1 || maxMessages > 100_000_000) problems.push(`queue.maxMessages must be a whole number from 1 to 100000000: got ${JSON.stringify(obj.maxMessages)}`)
      const whenFull = obj.whenFull ?? 'drop-oldest'
      if (whenFull !== 'drop-oldest' && whenFull !== 'refuse-new') problems.push(`queue.whenFull must be drop-oldest or refuse-new: got ${JSON.stringify(whenFull)}`)
      const limits: QueueLimits = { maxBytes: maxBytes ?? 0, maxMessages, whenFull: whenFull === 'refuse-new' ? 'refuse-new' : 'drop-oldest' }
      return limits
    }
    case 'reconnect': {
      known(['initialDelay', 'maxDelay'], 'reconnect', obj)
      for (const k of ['initialDelay', 'maxDelay']) { const p = checkDurationUnit(obj[k]); if (p !== undefined) problems.push(`reconnect.${k} must be ${p}: got ${JSON.stringify(obj[k])}`) }
      const initialDelay = parseDuration(obj.initialDelay ?? '1s')
      const maxDelay = parseDuration(obj.maxDelay ?? '60s')
      if (initialDelay === undefined || initialDelay < 100) problems.push(`reconnect.initialDelay must be a duration of at least 100ms: got ${JSON.stringify(obj.initialDelay)}`)
      if (maxDelay === undefined || maxDelay < (initialDelay ?? 0)) problems.push(`reconnect.maxDelay must be a duration no shorter than initialDelay: got ${JSON.stringify(obj.maxDelay)}`)
      return { initialDelay: initialDelay ?? 1000, maxDelay: maxDelay ?? 60_000 }
    }
  }
  return {}
}

function parseRule (raw: unknown, where: string, problems: string[]): TopicRule {
  const rule: TopicRule = { filter: '#', direction: 'out', qos: 1, localPrefix: '', remotePrefix: '', retain: 'keep' }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    problems.push(`${where} must be a mapping such as { filter: sensors/#, direction: out, qos: 1 }: got ${JSON.stringify(raw)}`)
    return rule
  }
  const r = raw as Record<string, unknown>
  for (const k of Object.keys(r)) {
    if (!['filter', 'direction', 'qos', 'localPrefix', 'remotePrefix', 'retain'].includes(k)) problems.push(`${where}.${k} is not a known key: use filter, direction, qos, localPrefix, remotePrefix, retain`)
  }
  if (typeof r.filter !== 'string' || checkTopicFilter(r.filter) !== undefined) {
    problems.push(`${where}.filter ${typeof r.filter === 'string' ? checkTopicFilter(r.filter) as string : 'is required'}: got ${JSON.stringify(r.filter)}`)
  } else rule.filter = r.filter
  const direction = r.direction ?? 'out'
  if (direction !== 'in' && direction !== 'out' && direction !== 'both') problems.push(`${where}.direction must be in, out or both: got ${JSON.stringify(r.direction)}`)
  else rule.direction = direction
  const qos = Number(r.qos ?? 1)
  if (qos !== 0 && qos !== 1 && qos !== 2) problems.push(`${where}.qos must be 0, 1 or 2: got ${JSON.stringify(r.qos)}`)
  else rule.qos = qos
  for (const k of ['localPrefix', 'remotePrefix'] as const) {
    const v = r[k] ?? ''
    const problem = typeof v === 'string' ? checkTopicPrefix(v) : 'must be a string'
    if (problem !== undefined) problems.push(`${where}.${k} ${problem}: got ${JSON.stringify(v)}`)
    else rule[k] = v as string
  }
  const retain = r.retain ?? 'keep'
  if (retain !== 'keep' && retain !== 'clear') problems.push(`${where}.retain must be keep or clear: got ${JSON.stringify(r.retain)}`)
  else rule.retain = retain
  return rule
}

/**
 * Problems of the list that no single field sees: a name on every bridge,
 * names unique, url or urls (not both). Used by the option row's check and by
 * toBridgeSpecs. Each problem starts with `bridges[i] (name):`.
 */
export function checkBridgeItems (items: unknown): string[] {
  if (!Array.isArray(items)) return [`bridges must be a list: got ${JSON.stringify(items)}`]
  const problems: string[] = []
  const names = new Set<string>()
  items.forEach((raw, i) => {
    const b = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>
    const name = typeof b.name === 'string' ? b.name : ''
    const at = `bridges[${i}]${name === '' ? '' : ` (${name})`}`
    if (name === '') problems.push(`${at}: name is required, e.g. name: cloud`)
    else if (names.has(name)) problems.push(`${at}: name must be unique: got "${name}" twice`)
    names.add(name)
    if (b.url !== undefined && b.urls !== undefined) problems.push(`${at}: sets both url and urls: keep one`)
    else if (b.url === undefined && b.urls === undefined) problems.push(`${at}: url is required, e.g. url: mqtts://mqtt.example.com:8883`)
  })
  return problems
}
