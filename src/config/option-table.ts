// The one option table. Every limit has a default, a unit and a reason.
// Docs (README config reference, docs/limits.md) and `edgemq config --explain`
// are generated from it, so they cannot drift from what the code does.
import type { OptionSpec } from './option-spec.ts'
import { LISTENER_FIELDS } from '../listeners/listener-options.ts'
import { EXTRA_OPTION_TABLES } from './extra-options.ts'

/** Options of the broker core: board, listeners, persistence, limits, runtime, logging, $SYS. */
export const CORE_OPTIONS: readonly OptionSpec[] = [
  {
    key: 'board', type: 'string', default: 'auto', reload: 'restart',
    doc: 'Board profile name, or "auto" to detect it from /proc/device-tree/model',
    reason: 'limits follow the hardware; "generic" when nothing matches'
  },
  {
    key: 'listeners', type: 'list', fields: LISTENER_FIELDS, reload: 'listener',
    default: [{ name: 'local', type: 'tcp', host: '127.0.0.1', port: 1883 }],
    doc: 'Network listeners (tcp, tls, ws, wss), each with its own bind address',
    reason: 'secure by default: loopback only until the config opens a port'
  },
  // persistence
  {
    key: 'persistence.path', type: 'path', default: './data', reload: 'restart',
    doc: 'Folder of the LevelDB store (sessions, retained messages, queues, bans, bridge queues)',
    reason: 'relative to the working directory; packages set /var/lib/edgemq'
  },
  {
    key: 'persistence.sync', type: 'enum', values: ['always', 'batch', 'never'], default: 'batch', reload: 'restart', board: true,
    doc: 'When writes are fsynced: always (before every acknowledgement), batch (every syncInterval), never (left to the OS)',
    reason: 'every mode survives a process kill; batch bounds power-cut loss to one interval at a fraction of the SD-card writes of always'
  },
  {
    key: 'persistence.syncInterval', type: 'duration', unit: 'ms', default: '1s', min: 10, max: 60_000, reload: 'restart', board: true,
    doc: 'fsync interval in batch mode',
    reason: 'the most acknowledged data a power cut can take in batch mode; 1 s matches HiveMQ\'s sync period'
  },
  {
    key: 'persistence.cacheSize', type: 'size', unit: 'bytes', default: '8MB', min: 0, reload: 'restart', board: true,
    doc: 'LevelDB block cache', reason: 'LevelDB\'s default; small boards use less'
  },
  {
    key: 'persistence.writeBufferSize', type: 'size', unit: 'bytes', default: '4MB', min: 64 * 1024, reload: 'restart', board: true,
    doc: 'LevelDB write buffer (memtable) size', reason: 'LevelDB\'s default; small boards use less'
  },
  {
    key: 'persistence.maxQueuedBytes', type: 'size', unit: 'bytes', min: 0, reload: 'live', board: true,
    doc: 'Most bytes queued on disk for one offline client; beyond, the oldest queued message makes room. Unset = persistence.queueDiskShare of the data partition, at least 128 MB; 0 = no cap',
    reason: 'bounded by the storage the board has, not a message count: the 128 MB floor holds an hour of 100 msg/s with 100-byte payloads (about 79 MB on disk, ~220 bytes per queued message), and one never-returning session still cannot fill the card'
  },
  {
    key: 'persistence.queueDiskShare', type: 'int', unit: 'percent', default: 10, min: 1, max: 90, reload: 'live', board: true,
    doc: 'Share of the data partition (its size at start) that one offline client\'s queue may use when persistence.maxQueuedBytes is unset',
    reason: 'a 16 GB SD card gives 1.6 GB per queue (about 20 hours of 100 msg/s on disk; persistence.maxQueuedMessagesTotal may bound it first) while the logs, the OS and other sessions keep the rest'
  },
  {
    key: 'persistence.maxQueuedMessagesTotal', type: 'int', unit: 'messages', min: 0, reload: 'live',
    doc: 'Most messages queued over all offline clients together; beyond, the oldest queued message of the client receiving a new one makes room. Unset = a fifth of memory.softMark at 21 bytes per message (rpi-zero-2w: 1.1 million, 3.1 hours of 100 msg/s; rpi-4b: 3.6 million); 0 = no cap',
    reason: 'each queued message keeps a 12-byte entry (sequence and size) in memory for the caps and the drop order: unbounded, a long outage grew it until the broker ran out of memory, and a restart counting that queue ran out again'
  },
  {
    key: 'persistence.encryptionKeyFile', type: 'path', reload: 'restart',
    doc: 'Device key file (0600, created when missing) that seals stored payloads at rest; unset = off',
    reason: 'off by default: costs CPU per write; on, a stolen SD card does not reveal payloads (docs/envelope.md)'
  },
  // limits
  {
    key: 'limits.maxPacketSize', type: 'size', unit: 'bytes', default: '256KB', min: 64, max: 268_435_455, reload: 'live', board: true,
    doc: 'Largest MQTT packet accepted, checked on the fixed header before the payload is buffered',
    reason: 'aedes/mqtt-packet would buffer up to 256 MB; sensor readings are small (EMQX 1 MB, Mosquitto 2.1 2 MB)'
  },
  {
    key: 'limits.maxConnections', type: 'int', unit: 'connections', default: 10_000, min: 1, reload: 'live', board: true,
    doc: 'Most client connections at once, all listeners together',
    reason: 'bounded memory; boards set it from measured KiB per connection'
  },
  {
    key: 'limits.connectTimeout', type: 'duration', unit: 'ms', default: '10s', min: 100, max: 300_000, reload: 'live', board: true,
    doc: 'Time a socket has to send CONNECT before it is closed',
    reason: 'slowloris (failure-modes row 1): HiveMQ uses 10 s, EMQX 15 s, aedes 30 s'
  },
  {
    key: 'limits.keepaliveMax', type: 'int', unit: 's', default: 600, min: 0, max: 65_535, reload: 'live', board: true,
    doc: 'Largest keepalive a v5 client keeps: a v5 client asking for more, or for 0, is told this as Server Keep Alive; 3.1.1 clients are refused above it only with keepaliveStrict (0 = no cap)',
    reason: 'CVE-2020-13849 (SlowITe): a huge keepalive holds a dead connection for hours; v5 clients can be told a bound without being refused'
  },
  {
    key: 'limits.keepaliveStrict', type: 'bool', default: false, reload: 'live',
    doc: 'Refuse a 3.1.1/3.1 CONNECT whose keepalive is 0 or above keepaliveMax with CONNACK 2 (identifier rejected)',
    reason: 'off: Mosquitto 2.0 accepts every keepalive and devices send 0 ("no keepalive", [MQTT-3.1.2-10]); dead peers are found by TCP keepalive (tcpKeepaliveIdle) instead. On: the strict SlowITe defence, at the cost of refusing those devices'
  },
  {
    key: 'limits.tcpKeepaliveIdle', type: 'duration', unit: 'ms', default: '60s', min: 1000, max: 7_200_000, reload: 'live',
    doc: 'Idle time after which the kernel starts TCP keepalive probes on every accepted socket (applies to connections accepted after a reload)',
    reason: 'CVE-2020-13849 (SlowITe) with keepalive 0 allowed: a dead peer is found after this plus tcp_keepalive_intvl x tcp_keepalive_probes (Linux default 75 s x 9), about 12 min, not never'
  },
  {
    key: 'limits.sendTopicAliases', type: 'bool', default: true, reload: 'live',
    doc: 'Give v5 clients that advertise a Topic Alias Maximum aliases for the topics they receive most (applies to new connections)',
    reason: 'on a gateway radio link the topic is often most of a small message; a client that advertises no maximum never gets one [MQTT-3.3.2-8]'
  },
  {
    key: 'limits.topicAliasBudget', type: 'int', unit: 'aliases', default: 16, min: 0, max: 1024, reload: 'live', board: true,
    doc: 'Most topic aliases edgemq uses per v5 connection, whatever the client allows (0 = none)',
    reason: 'each alias holds a topic string for the connection\'s life; 16 covers a sensor gateway\'s busy topics at under 2 KiB per connection'
  },
  {
    key: 'limits.maxInflight', type: 'int', unit: 'messages', default: 20, min: 1, max: 65_535, reload: 'restart', board: true,
    doc: 'Receive Maximum advertised to v5 clients (QoS 1/2 the broker accepts unacknowledged)',
    reason: 'Mosquitto\'s max_inflight_messages default'
  },
  {
    key: 'limits.maxTopicLevels', type: 'int', unit: 'levels', default: 100, min: 1, max: 100, reload: 'restart',
    doc: 'Most levels in a topic or filter',
    reason: 'qlobber throws past 100 levels (GHSA-xxqp-5qx8-gj5q); EMQX uses 128, Mosquitto 200'
  },
  {
    key: 'limits.maxTopicLength', type: 'int', unit: 'bytes', default: 1024, min: 16, max: 65_535, reload: 'live', board: true,
    doc: 'Longest topic or filter', reason: 'bounds per-subscription memory; real sensor topics are < 100 bytes'
  },
  {
    key: 'limits.topicAliasMaximum', type: 'int', unit: 'aliases', default: 32, min: 0, max: 65_535, reload: 'restart', board: true,
    doc: 'Topic aliases a v5 client may set on its way in', reason: 'each alias costs a map entry per connection'
  },
  {
    key: 'limits.sessionExpiryMax', type: 'duration', unit: 'ms', default: '7d', min: 0, reload: 'restart', board: true,
    doc: 'Longest session expiry a v5 client may ask for (0 = no cap)',
    reason: 'a client cycling ids with "never expire" would pin state forever'
  },
  {
    key: 'limits.drainTimeout', type: 'duration', unit: 'ms', default: '30s', min: 0, reload: 'restart', board: true,
    doc: 'How long a slow consumer may block its socket before it is disconnected',
    reason: 'one frozen socket stalls delivery to all (aedes #1060, failure-modes row 16)'
  },
  {
    key: 'limits.maxClientIdLength', type: 'int', unit: 'bytes', default: 128, min: 23, max: 65_535, reload: 'restart',
    doc: 'Longest client id accepted', reason: 'spec minimum is 23 [MQTT-3.1.3-5]; real ids are rarely longer than a UUID'
  },
  // runtime (Node.js heap flags, applied when the broker starts)
  {
    key: 'runtime.maxOldSpace', type: 'int', unit: 'MiB', default: 256, min: 16, reload: 'restart', board: true,
    doc: 'Node --max-old-space-size for the broker process',
    reason: 'V8 never sizes its heap below ~260 MB from a cgroup limit; boards must cap it'
  },
  {
    key: 'runtime.maxSemiSpace', type: 'int', unit: 'MiB', default: 8, min: 1, max: 64, reload: 'restart', board: true,
    doc: 'Node --max-semi-space-size for the broker process', reason: 'the young generation dominates idle RSS on small boards'
  },
  {
    key: 'control.socket', type: 'path', reload: 'restart',
    doc: 'Unix socket of `edgemq ctl` (mode 0600); unset = <persistence.path>/control.sock',
    reason: 'local only: file permissions decide who may ban, unban and throttle'
  },
  // logging and $SYS
  {
    key: 'logging.level', type: 'enum', values: ['debug', 'info', 'warn', 'error'], default: 'info', reload: 'live',
    doc: 'Lowest level logged', reason: 'info logs connects, auth failures and bans, which Fail2Ban and operators read'
  },
  {
    key: 'sys.interval', type: 'duration', unit: 'ms', default: '10s', min: 0, reload: 'restart', board: true,
    doc: '$SYS statistics period (0 = off)', reason: 'Mosquitto\'s sys_interval default'
  }
]

/** Every option: the core ones and those of later parts (auth, acl, throttle, bridges). */
export const OPTION_TABLE: readonly OptionSpec[] = [...CORE_OPTIONS, ...EXTRA_OPTION_TABLES.flat()]

/** The option row for a dotted key, if there is one. */
export function findOption (key: string): OptionSpec | undefined {
  return OPTION_TABLE.find((o) => o.key === key)
}
