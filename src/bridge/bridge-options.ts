// The `bridges:` option: a list of upstream connections, each with its topic
// rules, queue bounds, reconnect delays and optional payload sealing. The
// loader checks the flat fields; the nested mappings (auth, tls, topics, queue,
// reconnect, seal) are checked here by parseBridgeSections so a bad rule names
// its index and field.
import type { OptionSpec } from '../config/option-spec.ts'
import { parseDuration, parseSize } from '../config/units.ts'
import { checkTopicFilter, checkTopicPrefix, type TopicRule } from './topic-rules.ts'
import type { QueueLimits } from './bridge-queue.ts'
import { checkBridgeList } from './bridge-config.ts'
import { parseSealRules } from '../crypto/crypto-options.ts'
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

const NAME = /^[A-Za-z0-9_-]{1,64}$/

const checkName = (v: unknown): string | undefined =>
  typeof v === 'string' && NAME.test(v) ? undefined : 'letters, digits, _ and - only, 1 to 64 of them (it names the queue on disk and the $SYS topics)'

const checkUrl = (v: unknown): string | undefined => {
  if (typeof v !== 'string') return 'a URL such as mqtts://mqtt.example.com:8883'
  let u: URL
  try { u = new URL(v) } catch { return 'a URL such as mqtts://mqtt.example.com:8883' }
  const scheme = u.protocol.replace(/:$/, '')
  if (!(BRIDGE_SCHEMES as readonly string[]).includes(scheme)) return `a URL with scheme ${BRIDGE_SCHEMES.join(', ')}`
  if (u.hostname === '') return 'a URL with a host'
  if (u.username !== '' || u.password !== '') return 'a URL without credentials (use auth.username and auth.passwordFile, so no password sits in the config)'
  return undefined
}

const checkUrls = (v: unknown): string | undefined => {
  if (!Array.isArray(v) || v.length === 0) return 'a non-empty list of URLs'
  for (const u of v) { const p = checkUrl(u); if (p !== undefined) return `${p} (got ${JSON.stringify(u)})` }
  return undefined
}

const sectionCheck = (section: keyof BridgeSections) => (v: unknown): string | undefined => {
  const problems: string[] = []
  parseSection(section, v, problems)
  return problems.length === 0 ? undefined : `valid (${problems.join('; ')})`
}

/** The field table of one bridge. */
export const BRIDGE_FIELDS: readonly OptionSpec[] = [
  { key: 'name', type: 'string', reload: 'live', doc: 'Name of the bridge in logs, $SYS topics and `edgemq ctl bridges`; also names its queue on disk', reason: 'required: renaming a bridge abandons its queue', check: checkName },
  { key: 'url', type: 'string', reload: 'live', doc: 'Upstream broker URL: mqtt://, mqtts://, ws:// or wss:// host:port', reason: 'required (or urls)', check: checkUrl },
  { key: 'urls', type: 'string[]', reload: 'live', doc: 'Several upstream URLs, tried in order on each reconnect (failover)', reason: 'replaces url when the upstream has more than one address', check: checkUrls },
  { key: 'protocolVersion', type: 'int', default: 5, reload: 'live', doc: 'MQTT version spoken upstream: 4 (3.1.1) or 5', reason: 'MQTT 5 gives no-local, which stops a both-direction rule echoing messages back', check: (v) => v === 4 || v === 5 ? undefined : '4 (MQTT 3.1.1) or 5 (MQTT 5.0)' },
  { key: 'clientId', type: 'string', reload: 'live', doc: 'Client id upstream', reason: 'default edgemq-<hostname>-<bridge name>: stable across restarts so a persistent session survives' },
  { key: 'auth', type: 'object', reload: 'live', doc: 'username, and passwordFile or passwordEnv (the password is never written in the config nor logged)', reason: 'unset: connect without credentials', check: sectionCheck('auth') },
  { key: 'tls', type: 'object', reload: 'live', doc: 'ca, cert, key (PEM files), servername, rejectUnauthorized (default true), minVersion (default TLSv1.2)', reason: 'mqtts/wss verify the upstream against the system CAs unless ca is set', check: sectionCheck('tls') },
  { key: 'keepalive', type: 'duration', unit: 'ms', default: '60s', min: 1000, max: 65_535_000, reload: 'live', doc: 'MQTT keepalive upstream', reason: 'detects a dead uplink within 1.5x this; 60 s is MQTT.js\'s and mosquitto\'s default' },
  { key: 'cleanSession', type: 'bool', default: false, reload: 'live', doc: 'Start a clean session upstream on each connection', reason: 'false: the upstream keeps inbound (in) messages for the gateway while the uplink is down' },
  { key: 'sessionExpiry', type: 'duration', unit: 'ms', default: '7d', min: 0, max: 4_294_967_000, reload: 'live', doc: 'MQTT 5 session expiry asked of the upstream when cleanSession is false', reason: 'outages of days are the case this bridge exists for; brokers may cap it lower' },
  { key: 'connectTimeout', type: 'duration', unit: 'ms', default: '30s', min: 1000, reload: 'live', doc: 'Time allowed from dialing to CONNACK', reason: 'a silent upstream must not hold the bridge forever' },
  { key: 'maxPacketSize', type: 'size', unit: 'bytes', default: '1MB', min: 64, max: 268_435_455, reload: 'live', doc: 'Largest packet accepted from the upstream; a bigger one drops the connection before it is buffered', reason: 'a hostile upstream could otherwise make the gateway buffer 256 MB (mqtt-packet has no limit)' },
  { key: 'maxInflight', type: 'int', default: 32, min: 1, max: 65_535, reload: 'live', doc: 'Outbound QoS 1/2 messages sent upstream and not yet acknowledged', reason: 'enough to fill a high-latency uplink; the upstream\'s MQTT 5 receive maximum lowers it' },
  { key: 'topics', type: 'object', reload: 'live', doc: 'Topic rules: filter, direction (in|out|both), qos, localPrefix, remotePrefix, retain (keep|clear)', reason: 'required: a bridge carries nothing until a rule says so', check: sectionCheck('topics') },
  { key: 'queue', type: 'object', reload: 'live', doc: 'Store-and-forward queue bounds: maxBytes (default 64MB), maxMessages (default 1000000), whenFull (drop-oldest|refuse-new)', reason: 'an outage of days must not fill the disk or the memory', check: sectionCheck('queue') },
  { key: 'reconnect', type: 'object', reload: 'live', doc: 'Reconnect delays: initialDelay (default 1s), maxDelay (default 60s); exponential with jitter', reason: 'gateways behind one uplink must not reconnect in lockstep', check: sectionCheck('reconnect') },
  { key: 'seal', type: 'object', reload: 'live', doc: 'Seal rules: payloads of local topics matching a rule\'s topics are sealed before they are queued and opened when they come in (fields in docs/envelope.md: topics, mode, keyFile, recipientPublicKeyFile, secretKeyFile, ...)', reason: 'the cloud sees only ciphertext', check: sectionCheck('seal') },
  { key: 'enabled', type: 'bool', default: true, reload: 'live', doc: 'false keeps the bridge configured (and its queue) but does not connect or queue', reason: 'switch a bridge off without losing its settings' }
]

/** The option row registered in the option table. */
export const BRIDGE_OPTIONS: readonly OptionSpec[] = [
  {
    key: 'bridges', type: 'list', fields: BRIDGE_FIELDS, default: [], reload: 'live', check: checkBridgeList,
    doc: 'Upstream bridges: local topics forwarded to another broker with a disk-backed queue, and remote topics brought in',
    reason: 'none by default: nothing leaves the gateway until the config says so'
  }
]

/** Validates the nested sections of one bridge and applies their defaults. */
export function parseBridgeSections (raw: Record<string, unknown>, problems: string[]): BridgeSections {
  return {
    auth: parseSection('auth', raw.auth, problems) as BridgeAuth,
    tls: parseSection('tls', raw.tls, problems) as BridgeTls,
    topics: parseSection('topics', raw.topics, problems) as TopicRule[],
    queue: parseSection('queue', raw.queue, problems) as QueueLimits,
    reconnect: parseSection('reconnect', raw.reconnect, problems) as BridgeSections['reconnect'],
    seal: raw.seal === undefined ? [] : parseSection('seal', raw.seal, problems) as SealRuleConfig[]
  }
}

function parseSection (section: keyof BridgeSections, raw: unknown, problems: string[]): unknown {
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
  if (section === 'seal') {
    try {
      // One rule may be written as a mapping instead of a list of one.
      return parseSealRules(Array.isArray(raw) ? raw : [raw], 'seal', () => 'bridge')
    } catch (err) {
      problems.push(...((err as { details?: string[] }).details ?? [(err as Error).message]))
      return []
    }
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
