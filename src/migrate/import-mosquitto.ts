// `edgemq import-mosquitto`: turns a Mosquitto configuration into an edgemq
// config that does what it did, and says for every input line whether it was
// mapped, mapped with a changed default (and why edgemq's is safer), or is not
// supported (and what to do instead). Pure: directives in, config + files +
// report out; the command writes them (src/cli/commands/import-mosquitto.ts).
//
// Mosquitto 2.x semantics followed (mosquitto.conf(5)):
// - With no listener at all Mosquitto listens on loopback 1883 and allows
//   anonymous clients; once a listener exists, allow_anonymous defaults to false.
// - per_listener_settings false: allow_anonymous, password_file and acl_file are
//   global; true: they belong to the listener above them.
// - A bridge's topic line is `topic PATTERN [DIR [QOS [LOCAL REMOTE]]]`, DIR
//   out by default, QOS 0.
import { networkInterfaces } from 'node:os'
import { dirname, join, basename } from 'node:path'
import type { MosquittoDirective } from './mosquitto-conf.ts'

/** What happened to one input line. */
export type ImportStatus = 'mapped' | 'changed' | 'unsupported' | 'ignored'

/** One row of the import report. */
export interface ImportRow {
  where: string
  directive: string
  status: ImportStatus
  /** What it became, or why not and what to do instead. */
  note: string
}

/** A file the import writes beside the config (a bridge password, converted dynsec files). */
export interface ImportFile {
  path: string
  content: string
  mode: number
}

/** The result of an import. */
export interface ImportResult {
  config: Record<string, unknown>
  files: ImportFile[]
  report: ImportRow[]
  /** Dynamic-security files found (plugin_opt_config_file), for the caller to convert. */
  dynsecFiles: string[]
}

/** Options of an import. */
export interface ImportOptions {
  /** Folder the new config is written to: bridge password files go beside it. */
  outDir: string
}

interface Listener {
  name: string
  port: number
  host?: string
  websockets: boolean
  settings: Record<string, unknown>
  allowAnonymous?: boolean
  where: string
}

interface Bridge {
  name: string
  addresses: string[]
  settings: Record<string, unknown>
  topics: Array<Record<string, unknown>>
  auth: Record<string, unknown>
  tls: Record<string, unknown>
  reconnect: Record<string, unknown>
  protocolVersion?: number
  where: string
}

const YES = new Set(['true', 'yes', 'on', '1'])
const isTrue = (v: string | undefined): boolean => v !== undefined && YES.has(v.toLowerCase())

/** Maps directives (from readMosquittoConf) to an edgemq config. */
export function importMosquitto (directives: readonly MosquittoDirective[], options: ImportOptions): ImportResult {
  const report: ImportRow[] = []
  const files: ImportFile[] = []
  const dynsecFiles: string[] = []
  const limits: Record<string, unknown> = {}
  const auth: Record<string, unknown> = {}
  const persistence: Record<string, unknown> = {}
  const logging: Record<string, unknown> = {}
  const sys: Record<string, unknown> = {}
  const memory: Record<string, unknown> = {}
  const listeners: Listener[] = []
  const bridges: Bridge[] = []
  let perListener = false
  let globalAnonymous: boolean | undefined
  let defaultListener: Listener | undefined
  let bridge: Bridge | undefined
  let current: Listener | undefined
  const passwordFiles = new Set<string>()
  const aclFiles = new Set<string>()

  const row = (d: MosquittoDirective, status: ImportStatus, note: string): void => {
    report.push({ where: `${d.file}:${d.line}`, directive: `${d.key}${d.value === '' ? '' : ' ' + redactDirective(d)}`, status, note })
  }
  const listenerFor = (d: MosquittoDirective): Listener => {
    if (current !== undefined) return current
    defaultListener ??= { name: 'default', port: 1883, websockets: false, settings: {}, where: `${d.file}:${d.line}` }
    return defaultListener
  }
  const int = (d: MosquittoDirective): number | undefined => {
    const n = Number(d.args[0])
    return Number.isInteger(n) ? n : undefined
  }

  for (const d of directives) {
    // Bridge sections run from `connection` to the next connection or listener.
    if (d.key === 'connection') {
      bridge = { name: d.args[0] ?? `bridge${bridges.length + 1}`, addresses: [], settings: {}, topics: [], auth: {}, tls: {}, reconnect: {}, where: `${d.file}:${d.line}` }
      bridges.push(bridge)
      row(d, 'mapped', `bridges[${bridges.length - 1}] (name ${bridge.name})`)
      continue
    }
    if (d.key === 'listener') bridge = undefined
    if (bridge !== undefined && importBridgeLine(d, bridge, row, files, options)) continue
    switch (d.key) {
      case 'per_listener_settings':
        perListener = isTrue(d.args[0])
        row(d, 'mapped', perListener ? 'allow_anonymous is per listener (listeners[].allowAnonymous); password_file and acl_file stay global in edgemq: see the rows below' : 'global authentication settings')
        break
      case 'listener': {
        const port = Number(d.args[0])
        current = { name: `listener-${d.args[0]}${d.args[1] !== undefined ? '-' + d.args[1] : ''}`, port, host: d.args[1], websockets: false, settings: {}, where: `${d.file}:${d.line}` }
        listeners.push(current)
        row(d, 'mapped', `listeners: ${current.name}, ${d.args[1] === undefined ? 'host 0.0.0.0 (Mosquitto binds every address when none is given)' : `host ${d.args[1]}`}`)
        break
      }
      case 'port': {
        const l = listenerFor(d); l.port = Number(d.args[0])
        row(d, 'mapped', `default listener port ${l.port} (port is deprecated in Mosquitto 2; edgemq writes a listener)`)
        break
      }
      case 'bind_address': {
        const l = listenerFor(d); l.host = d.args[0]
        row(d, 'mapped', `default listener host ${d.args[0]}`)
        break
      }
      case 'bind_interface': {
        const l = listenerFor(d)
        const addr = interfaceAddress(d.args[0])
        if (addr === undefined) { row(d, 'unsupported', `edgemq binds addresses, not interfaces, and ${d.args[0]} has no IPv4 address here: set listeners[].host to the interface's address`); break }
        l.host = addr
        row(d, 'changed', `host ${addr}, the address ${d.args[0]} has now; edgemq binds addresses, so set listeners[].host again if the interface's address changes`)
        break
      }
      case 'protocol':
        listenerFor(d).websockets = d.args[0] === 'websockets'
        row(d, 'mapped', d.args[0] === 'websockets' ? 'type ws (wss with certfile)' : 'type tcp (tls with certfile)')
        break
      case 'certfile': listenerFor(d).settings.cert = d.value; row(d, 'mapped', 'listeners[].cert'); break
      case 'keyfile': listenerFor(d).settings.key = d.value; row(d, 'mapped', 'listeners[].key'); break
      case 'cafile': listenerFor(d).settings.ca = d.value; row(d, 'mapped', 'listeners[].ca'); break
      case 'capath': row(d, 'unsupported', 'edgemq takes one CA bundle: cat the PEM files of that folder into one file and set listeners[].ca'); break
      case 'crlfile': listenerFor(d).settings.crl = d.value; row(d, 'mapped', 'listeners[].crl'); break
      case 'require_certificate':
        if (isTrue(d.args[0])) { Object.assign(listenerFor(d).settings, { requestCertificate: true, requireCertificate: true }) }
        row(d, 'mapped', `listeners[].requireCertificate ${isTrue(d.args[0])}`)
        break
      case 'use_identity_as_username':
        if (isTrue(d.args[0])) listenerFor(d).settings.usernameFromCertificate = 'cn'
        row(d, 'mapped', 'listeners[].usernameFromCertificate: cn')
        break
      case 'use_subject_as_username': row(d, 'unsupported', 'edgemq takes the user name from the certificate CN or first SAN (usernameFromCertificate: cn | san), not the whole subject: rename the users in the password file and ACL to the CN'); break
      case 'tls_version': {
        const v = d.args[0] === 'tlsv1.3' ? 'TLSv1.3' : 'TLSv1.2'
        listenerFor(d).settings.minVersion = v
        row(d, d.args[0] === 'tlsv1.3' || d.args[0] === 'tlsv1.2' ? 'mapped' : 'changed', `listeners[].minVersion ${v}${d.args[0] !== 'tlsv1.3' && d.args[0] !== 'tlsv1.2' ? ` (edgemq never accepts below TLS 1.2: ${d.args[0]} is deprecated, RFC 8996)` : ''}`)
        break
      }
      case 'ciphers': case 'ciphers_tls1.3':
        row(d, 'changed', 'edgemq uses its own list of ECDHE/AEAD ciphers (Mozilla intermediate); weaker suites are never offered')
        break
      case 'max_connections': {
        const n = int(d)
        if (n !== undefined && n > 0) listenerFor(d).settings.maxConnections = n
        row(d, 'mapped', n !== undefined && n > 0 ? `listeners[].maxConnections ${n}` : 'no per-listener cap (limits.maxConnections still applies)')
        break
      }
      case 'allow_anonymous': {
        const v = isTrue(d.args[0])
        if (perListener && current !== undefined) current.allowAnonymous = v
        else if (perListener) listenerFor(d).allowAnonymous = v
        else globalAnonymous = v
        row(d, 'mapped', `allowAnonymous ${v}${perListener ? ' on this listener' : ' on every listener'}`)
        break
      }
      case 'password_file':
        passwordFiles.add(d.value); auth.passwordFile = d.value
        row(d, passwordFiles.size > 1 ? 'unsupported' : 'mapped', passwordFiles.size > 1 ? 'edgemq has one password file for all listeners: merge the files (the last one named is used)' : 'auth.passwordFile, read unchanged ($7$ and $6$ hashes verify; must be mode 0600, chmod 600 it)')
        break
      case 'acl_file':
        aclFiles.add(d.value); auth.aclFile = d.value
        row(d, aclFiles.size > 1 ? 'unsupported' : 'mapped', aclFiles.size > 1 ? 'edgemq has one ACL for all listeners: merge the files (the last one named is used)' : 'auth.aclFile, read unchanged (Mosquitto acl_file syntax)')
        break
      case 'plugin': case 'auth_plugin':
        if (/dynamic_security/.test(d.value)) row(d, 'mapped', 'the dynamic-security JSON (plugin_opt_config_file) converts into a password file and an ACL')
        else row(d, 'unsupported', 'edgemq loads no Mosquitto plugins: its own auth covers password files, client certificates, ACL by group and lockout')
        break
      case 'plugin_opt_config_file':
        dynsecFiles.push(d.value)
        row(d, 'mapped', 'converted: see the dynamic-security rows')
        break
      case 'persistence':
        row(d, isTrue(d.args[0]) ? 'mapped' : 'changed', isTrue(d.args[0]) ? 'edgemq always persists sessions, retained messages and queues (LevelDB, written as it runs)' : 'edgemq always persists: an acknowledged QoS 1/2 message survives a crash (persistence false has no equivalent)')
        break
      case 'persistence_location':
        persistence.path = join(d.value, 'edgemq')
        row(d, 'changed', `persistence.path ${join(d.value, 'edgemq')} (edgemq's LevelDB folder; Mosquitto's mosquitto.db is not read: sessions start afresh)`)
        break
      case 'persistence_file': row(d, 'ignored', 'edgemq keeps a LevelDB folder, not one file'); break
      case 'autosave_interval': case 'autosave_on_changes':
        row(d, 'changed', 'edgemq writes every change as it happens and fsyncs every persistence.syncInterval (1s): nothing waits for an autosave, so a kill loses nothing acknowledged')
        break
      case 'max_inflight_messages': setLimit(limits, 'maxInflight', int(d), d, row); break
      case 'max_queued_messages': setLimit(limits, 'maxQueuedMessages', int(d), d, row); break
      case 'max_queued_bytes': limits.maxQueuedBytes = Number(d.args[0]); row(d, 'mapped', `limits.maxQueuedBytes ${d.args[0]}`); break
      case 'max_packet_size': limits.maxPacketSize = Number(d.args[0]); row(d, 'mapped', `limits.maxPacketSize ${d.args[0]}`); break
      case 'message_size_limit': {
        const n = Number(d.args[0])
        if (n > 0) { limits.maxPacketSize = n + 65_536; row(d, 'changed', `limits.maxPacketSize ${n + 65_536} (edgemq limits the whole packet: the payload limit plus 64 KiB for the topic and properties)`) } else row(d, 'changed', 'no payload limit in Mosquitto; edgemq keeps its limits.maxPacketSize default (256KB): sensor readings are small and an unbounded packet is a memory attack')
        break
      }
      case 'max_keepalive': {
        const n = int(d)
        if (n !== undefined) limits.keepaliveMax = n
        row(d, 'mapped', `limits.keepaliveMax ${d.args[0]}`)
        break
      }
      case 'max_topic_alias': setLimit(limits, 'topicAliasMaximum', int(d), d, row); break
      case 'memory_limit': {
        const n = Number(d.args[0])
        if (n > 0) { memory.hardMark = n; row(d, 'changed', `memory.hardMark ${n}: above it edgemq disconnects the heaviest clients instead of failing allocations`) } else row(d, 'mapped', 'no limit: edgemq takes its memory marks from the board profile')
        break
      }
      case 'sys_interval': sys.interval = `${int(d) ?? 10}s`; row(d, 'mapped', `sys.interval ${int(d) ?? 10}s`); break
      case 'log_type':
        if (d.args[0] === 'all' || d.args[0] === 'debug') logging.level = 'debug'
        row(d, 'mapped', `logging.level ${d.args[0] === 'all' || d.args[0] === 'debug' ? 'debug' : 'info (edgemq logs by level, not by type)'}`)
        break
      case 'connection_messages': row(d, 'mapped', 'edgemq logs connects and disconnects at info'); break
      case 'log_dest': case 'log_timestamp': case 'log_timestamp_format': case 'log_facility':
        row(d, 'changed', 'edgemq logs to stderr (the systemd journal under the packaged unit); journald or the service manager stores and rotates it')
        break
      case 'pid_file': case 'user':
        row(d, 'changed', 'the packaged systemd unit runs edgemq as its own user, with no pid file to manage')
        break
      case 'include_dir': row(d, 'mapped', 'followed: the *.conf files of the folder, in name order'); break
      case 'allow_zero_length_clientid': case 'auto_id_prefix':
        row(d, 'ignored', 'edgemq assigns an id to a v5 client that sends none, as the spec allows; 3.1.1 clients with an empty id need clean session')
        break
      case 'websockets_log_level': case 'http_dir': case 'websockets_headers_size':
        row(d, 'unsupported', 'no equivalent: edgemq serves MQTT over WebSocket only on the listener path')
        break
      default:
        row(d, 'unsupported', 'no edgemq equivalent: see docs/migration.md')
    }
  }

  // Mosquitto 2: no listener at all = loopback only, anonymous allowed ("local only mode").
  if (listeners.length === 0 && defaultListener === undefined) {
    defaultListener = { name: 'default', port: 1883, host: '127.0.0.1', websockets: false, settings: {}, allowAnonymous: true, where: 'no listener line' }
    report.push({ where: '(none)', directive: '(no listener)', status: 'mapped', note: 'Mosquitto 2 without a listener serves loopback 1883 with anonymous clients allowed: so does the imported config' })
  }
  const all = [...(defaultListener !== undefined ? [defaultListener] : []), ...listeners]
  const config: Record<string, unknown> = {
    listeners: all.map((l) => {
      const tls = l.settings.cert !== undefined
      const type = l.websockets ? (tls ? 'wss' : 'ws') : (tls ? 'tls' : 'tcp')
      // Mosquitto 2: allow_anonymous defaults to false once a listener is configured.
      const allowAnonymous = l.allowAnonymous ?? globalAnonymous ?? (l.where === 'no listener line')
      return { name: l.name, type, host: l.host ?? '0.0.0.0', port: l.port, ...l.settings, allowAnonymous }
    })
  }
  if (Object.keys(persistence).length > 0) config.persistence = persistence
  if (Object.keys(auth).length > 0) config.auth = auth
  if (Object.keys(limits).length > 0) config.limits = limits
  if (Object.keys(memory).length > 0) config.memory = memory
  if (Object.keys(logging).length > 0) config.logging = logging
  if (Object.keys(sys).length > 0) config.sys = sys
  if (bridges.length > 0) config.bridges = bridges.map((b) => renderBridge(b))
  return { config, files, report, dynsecFiles }
}

function setLimit (limits: Record<string, unknown>, key: string, n: number | undefined, d: MosquittoDirective, row: (d: MosquittoDirective, s: ImportStatus, note: string) => void): void {
  if (n === undefined) { row(d, 'unsupported', `${d.key} needs a whole number: got ${JSON.stringify(d.value)}`); return }
  limits[key] = n
  row(d, 'mapped', `limits.${key} ${n}`)
}

/** Handles one line inside a bridge section; false when it is not a bridge option. */
function importBridgeLine (d: MosquittoDirective, b: Bridge, row: (d: MosquittoDirective, s: ImportStatus, note: string) => void, files: ImportFile[], options: ImportOptions): boolean {
  switch (d.key) {
    case 'address': case 'addresses':
      b.addresses.push(...d.args)
      row(d, 'mapped', `url${d.args.length > 1 ? 's (tried in order on each reconnect)' : ''}`)
      return true
    case 'topic': {
      const [filter, dir = 'out', qos = '0', local, remote] = d.args
      const rule: Record<string, unknown> = { filter: filter === '""' ? '' : filter, direction: dir, qos: Number(qos) }
      if (local !== undefined && local !== '""') rule.localPrefix = local
      if (remote !== undefined && remote !== '""') rule.remotePrefix = remote
      b.topics.push(rule)
      row(d, 'mapped', `topics: ${JSON.stringify(rule)}`)
      return true
    }
    case 'bridge_protocol_version':
      b.protocolVersion = d.args[0] === 'mqttv50' ? 5 : 4
      row(d, d.args[0] === 'mqttv31' ? 'changed' : 'mapped', `protocolVersion ${b.protocolVersion}${d.args[0] === 'mqttv31' ? ' (3.1 is spoken as 3.1.1, which every broker that speaks 3.1 also speaks)' : ''}`)
      return true
    case 'remote_username': b.auth.username = d.value; row(d, 'mapped', 'auth.username'); return true
    case 'remote_password': {
      const path = join(options.outDir, `bridge-${b.name}.password`)
      files.push({ path, content: d.value + '\n', mode: 0o600 })
      b.auth.passwordFile = path
      row(d, 'changed', `auth.passwordFile ${path} (written 0600): edgemq never keeps a password in the config`)
      return true
    }
    case 'remote_clientid': case 'clientid': b.settings.clientId = d.value; row(d, 'mapped', 'clientId'); return true
    case 'cleansession': b.settings.cleanSession = isTrue(d.args[0]); row(d, 'mapped', `cleanSession ${isTrue(d.args[0])}`); return true
    case 'keepalive_interval': b.settings.keepalive = `${d.args[0]}s`; row(d, 'mapped', `keepalive ${d.args[0]}s`); return true
    case 'try_private': row(d, 'changed', 'edgemq stops loops with MQTT 5 no-local and a hop marker instead of the try_private flag, which only Mosquitto upstreams honour'); return true
    case 'notifications': case 'notification_topic': case 'notifications_local_only':
      row(d, 'changed', `edgemq publishes each bridge's state on the local $SYS/broker/bridges/${b.name}/... topics and in edgemq ctl bridges, not a notification topic upstream`)
      return true
    case 'restart_timeout': {
      const [base, cap] = d.args[0].split(':')
      if (cap === undefined) { b.reconnect.initialDelay = `${base}s`; b.reconnect.maxDelay = `${base}s` } else { b.reconnect.initialDelay = `${base}s`; b.reconnect.maxDelay = `${cap}s` }
      row(d, 'mapped', `reconnect ${JSON.stringify(b.reconnect)} (always with jitter)`)
      return true
    }
    case 'start_type':
      if (d.args[0] === 'manual') b.settings.enabled = false
      row(d, d.args[0] === 'automatic' ? 'mapped' : 'changed', d.args[0] === 'manual' ? 'enabled: false (switch it on in the config)' : d.args[0] === 'lazy' ? 'edgemq connects at once and queues on disk while the uplink is down (no lazy start)' : 'connects at start')
      return true
    case 'bridge_cafile': b.tls.ca = d.value; row(d, 'mapped', 'tls.ca (the url becomes mqtts://)'); return true
    case 'bridge_certfile': b.tls.cert = d.value; row(d, 'mapped', 'tls.cert'); return true
    case 'bridge_keyfile': b.tls.key = d.value; row(d, 'mapped', 'tls.key'); return true
    case 'bridge_insecure':
      if (isTrue(d.args[0])) b.tls.rejectUnauthorized = false
      row(d, 'mapped', `tls.rejectUnauthorized ${!isTrue(d.args[0])}${isTrue(d.args[0]) ? ' (edgemq audit flags it: anyone on the path can impersonate the upstream)' : ''}`)
      return true
    case 'bridge_tls_version': b.tls.minVersion = d.args[0] === 'tlsv1.3' ? 'TLSv1.3' : 'TLSv1.2'; row(d, 'mapped', `tls.minVersion ${b.tls.minVersion as string}`); return true
    case 'bridge_capath': row(d, 'unsupported', 'cat the folder\'s PEM files into one and set tls.ca'); return true
    case 'bridge_max_packet_size': b.settings.maxPacketSize = Number(d.args[0]); row(d, 'mapped', 'maxPacketSize'); return true
    case 'round_robin': row(d, isTrue(d.args[0]) ? 'changed' : 'mapped', 'edgemq tries the addresses in order on each reconnect'); return true
    case 'local_clientid': case 'local_username': case 'local_password':
      row(d, 'ignored', 'edgemq\'s bridge runs inside the broker: it needs no local login')
      return true
    case 'idle_timeout': case 'threshold': case 'bridge_attempt_unsubscribe': case 'bridge_outgoing_retain': case 'bridge_bind_address':
      row(d, 'unsupported', 'no edgemq equivalent: see docs/migration.md')
      return true
    default:
      return false
  }
}

function renderBridge (b: Bridge): Record<string, unknown> {
  const tls = Object.keys(b.tls).length > 0
  const urls = b.addresses.map((a) => {
    const [host, port] = a.split(':')
    return `${tls ? 'mqtts' : 'mqtt'}://${host}:${port ?? (tls ? 8883 : 1883)}`
  })
  const out: Record<string, unknown> = { name: b.name }
  if (urls.length === 1) out.url = urls[0]
  else out.urls = urls
  // Mosquitto's bridge speaks 3.1.1 unless told otherwise.
  out.protocolVersion = b.protocolVersion ?? 4
  Object.assign(out, b.settings)
  if (Object.keys(b.auth).length > 0) out.auth = b.auth
  if (tls) out.tls = b.tls
  if (Object.keys(b.reconnect).length > 0) out.reconnect = b.reconnect
  out.topics = b.topics
  return out
}

/** The IPv4 address an interface has now. */
function interfaceAddress (name: string | undefined): string | undefined {
  if (name === undefined) return undefined
  return networkInterfaces()[name]?.find((a) => a.family === 'IPv4')?.address
}

/** A directive's value as the report shows it: passwords never. */
function redactDirective (d: MosquittoDirective): string {
  return /password/.test(d.key) ? '<redacted>' : d.value
}

/** The report as text: one line per input line, then the counts. */
export function renderImportReport (rows: readonly ImportRow[]): string {
  const counts = { mapped: 0, changed: 0, unsupported: 0, ignored: 0 }
  const lines = rows.map((r) => { counts[r.status] += 1; return `${r.where.padEnd(40)} ${r.status.padEnd(11)} ${r.directive}\n${' '.repeat(53)}${r.note}` })
  return `${lines.join('\n')}\n\n${counts.mapped} mapped, ${counts.changed} mapped with a changed default, ${counts.unsupported} not supported, ${counts.ignored} ignored\n`
}

/** Where the converted dynsec files go. */
export function dynsecOutputPaths (outDir: string, source: string): { passwordFile: string, aclFile: string } {
  const stem = basename(source).replace(/\.json$/, '')
  return { passwordFile: join(outDir, `${stem}.passwd`), aclFile: join(outDir, `${stem}.acl.yaml`) }
}

export { dirname }
