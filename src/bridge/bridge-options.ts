// The `bridges:` option: a list of upstream connections, each with its topic
// rules, queue bounds, reconnect delays and optional payload sealing. The
// loader checks the flat fields and calls the section checks below; the whole
// bridge (required fields, seal rules) is checked again by toBridgeSpecs.
import type { OptionSpec } from '../config/option-spec.ts'
import { BRIDGE_SCHEMES, checkBridgeItems, parseSection, type BridgeSections } from './bridge-sections.ts'

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
  if (section === 'seal') {
    // Shape only here; the crypto part's full rule check runs in toBridgeSpecs.
    const rules = Array.isArray(v) ? v : [v]
    if (rules.some((r) => typeof r !== 'object' || r === null || !Array.isArray((r as { topics?: unknown }).topics))) problems.push('a seal rule (or a list of them) with topics: [filters] and key files')
  } else parseSection(section, v, problems)
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
    key: 'bridges', type: 'list', fields: BRIDGE_FIELDS, default: [], reload: 'live',
    // Whole-list check (names, url): applied by loaders that check list rows; toBridgeSpecs applies it too.
    check: (v) => { const p = checkBridgeItems(v); return p.length === 0 ? undefined : `valid (${p.join('; ')})` },
    doc: 'Upstream bridges: local topics forwarded to another broker with a disk-backed queue, and remote topics brought in',
    reason: 'none by default: nothing leaves the gateway until the config says so'
  }
]

