// Every figure the harness reports: its label, unit, which direction is
// better, and the target from the resource-governance issue where there is
// one. Ratios are always <broker> / Mosquitto, because the machine is shared
// and absolute numbers drift between runs while ratios from one run do not.

/** A target: either a ratio to Mosquitto or an absolute bound on edgemq's own value. */
export type Target = { ratio: number } | { max: number }

/** One reported figure. */
export interface MetricSpec {
  key: string
  label: string
  unit: string
  better: 'higher' | 'lower'
  target?: Target
}

/** The catalogue, in table order. */
export const METRICS: readonly MetricSpec[] = [
  { key: 'idle.rssNoClients', label: 'idle: RSS, no clients', unit: 'MiB', better: 'lower', target: { max: 45 } },
  // Node-based brokers only: a bare `node` with one listening socket, the floor under their RSS figures.
  { key: 'idle.rssNodeFloor', label: 'idle: bare node, one listening socket', unit: 'MiB', better: 'lower' },
  { key: 'idle.treeRssNoClients', label: 'idle: same, all broker processes', unit: 'MiB', better: 'lower' },
  { key: 'idle.kibPerConn1k', label: 'idle: KiB per connection @1k', unit: 'KiB', better: 'lower' },
  { key: 'idle.kibPerConn10k', label: 'idle: KiB per connection @10k', unit: 'KiB', better: 'lower', target: { max: 4 } },
  // Over the last step of the idle scenario (9k connects in the full run, 1k in --quick), 100 handshakes at a time.
  { key: 'idle.connectRate', label: 'idle: connects (CONNECT to CONNACK)', unit: 'conn/s', better: 'higher', target: { ratio: 0.5 } },
  { key: 'idle.cpuPerConnect', label: 'idle: broker CPU per connect', unit: 'us', better: 'lower' },
  { key: 'fanIn0.rate', label: 'fan-in QoS 0 (50->1)', unit: 'msg/s', better: 'higher', target: { ratio: 1.0 } },
  { key: 'fanIn0.peakRss', label: 'fan-in QoS 0: peak RSS', unit: 'MiB', better: 'lower', target: { max: 80 } },
  { key: 'fanIn1.rate', label: 'fan-in QoS 1 (50->1)', unit: 'msg/s', better: 'higher', target: { ratio: 1.0 } },
  { key: 'fanIn1.peakRss', label: 'fan-in QoS 1: peak RSS', unit: 'MiB', better: 'lower', target: { max: 80 } },
  { key: 'fanOut0.rate', label: 'fan-out QoS 0 (1->200)', unit: 'deliv/s', better: 'higher', target: { ratio: 0.8 } },
  { key: 'fanOut0.peakRss', label: 'fan-out QoS 0: peak RSS', unit: 'MiB', better: 'lower', target: { max: 80 } },
  { key: 'latency.p50', label: 'latency QoS 1 @2k/s: p50', unit: 'ms', better: 'lower' },
  { key: 'latency.p99', label: 'latency QoS 1 @2k/s: p99', unit: 'ms', better: 'lower', target: { ratio: 1.0 } },
  { key: 'latencyPersistent.p50', label: 'latency, persistent subscriber: p50', unit: 'ms', better: 'lower' },
  { key: 'latencyPersistent.p99', label: 'latency, persistent subscriber: p99', unit: 'ms', better: 'lower', target: { ratio: 1.5 } },
  { key: 'drain.enqueueRate', label: 'offline enqueue QoS 1 (500 x 100)', unit: 'msg/s', better: 'higher', target: { ratio: 0.5 } },
  { key: 'drain.rssQueued', label: 'RSS with the 50k queued', unit: 'MiB', better: 'lower', target: { max: 64 } },
  { key: 'drain.rssQueuedQuiet', label: 'same, after 15 s of quiet', unit: 'MiB', better: 'lower' },
  { key: 'drain.rssRestarted', label: 'same, after a restart', unit: 'MiB', better: 'lower' },
  { key: 'drain.seconds', label: 'drain 50k queued QoS 1 after restart', unit: 's', better: 'lower', target: { ratio: 2.0 } },
  { key: 'drain.cpuPerMessage', label: 'drain: broker CPU per message', unit: 'us', better: 'lower' },
  { key: 'drain.peakRss', label: 'drain: peak RSS', unit: 'MiB', better: 'lower' },
  { key: 'drain.restartMs', label: 'drain: restart to listening (50k)', unit: 'ms', better: 'lower' },
  // No target: the drain's own shape without the restart, so that plain aedes (sessions in RAM only) has a figure beside it.
  { key: 'resume.seconds', label: 'resume: same drain, no restart (2nd round)', unit: 's', better: 'lower' },
  { key: 'resume.cpuPerMessage', label: 'resume: broker CPU per message', unit: 'us', better: 'lower' },
  { key: 'resume.rssQueued', label: 'resume: RSS with the 50k queued (1st round)', unit: 'MiB', better: 'lower' },
  { key: 'restart.ms', label: 'restart to listening, 100k queued', unit: 'ms', better: 'lower', target: { max: 1000 } },
  { key: 'disk.bytesPerMsg', label: 'disk: bytes written per QoS 1 msg', unit: 'B', better: 'lower', target: { ratio: 1.0 } },
  { key: 'disk.bytesPerMsgRunning', label: 'disk: same, before shutdown', unit: 'B', better: 'lower' },
  { key: 'wear.bytesPerMsg', label: 'sensor day: bytes per QoS 1 msg', unit: 'B', better: 'lower' },
  { key: 'wear.mibPerDay', label: 'sensor day: 100 x 1/s, one subscriber', unit: 'MiB', better: 'lower' },
  { key: 'storm.allConnectedS', label: 'storm: 1k password logins / 250 addr, all in', unit: 's', better: 'lower', target: { max: 5 } },
  { key: 'storm.gaveUp', label: 'storm: clients that gave up (20 tries)', unit: '', better: 'lower', target: { max: 0 } },
  { key: 'storm.refusals', label: 'storm: refusals on the way', unit: '', better: 'lower', target: { max: 1000 } },
  { key: 'storm.connackP50', label: 'storm: CONNACK latency p50', unit: 'ms', better: 'lower' },
  { key: 'storm.connackP99', label: 'storm: CONNACK latency p99', unit: 'ms', better: 'lower' },
  { key: 'storm.secondS', label: 'storm: second storm (broker up), all in', unit: 's', better: 'lower', target: { max: 1.5 } },
  { key: 'storm.secondGaveUp', label: 'storm: second storm, clients that gave up', unit: '', better: 'lower', target: { max: 0 } },
  { key: 'storm.oneAddressS', label: 'storm: 1k from one address, all in', unit: 's', better: 'lower' },
  { key: 'storm.oneAddressGaveUp', label: 'storm: one address, clients that gave up', unit: '', better: 'lower', target: { max: 0 } },
  { key: 'storm.peakRss', label: 'storm: peak RSS, rpi-zero-2w cgroup', unit: 'MiB', better: 'lower', target: { max: 112 } },
  { key: 'storm.cgroupPeak', label: 'storm: cgroup peak incl. page cache', unit: 'MiB', better: 'lower' }
]

/** value / Mosquitto's value, or undefined when either is missing or Mosquitto's is 0. */
export function ratioToMosquitto (value: number | undefined, mosquitto: number | undefined): number | undefined {
  if (value === undefined || mosquitto === undefined || !Number.isFinite(value) || !Number.isFinite(mosquitto) || mosquitto === 0) return undefined
  return value / mosquitto
}

/** Whether a value (and its ratio) meets the metric's target; undefined when there is no target or no figure. */
export function meetsTarget (spec: MetricSpec, value: number | undefined, ratio: number | undefined): boolean | undefined {
  if (spec.target === undefined) return undefined
  if ('max' in spec.target) return value === undefined || !Number.isFinite(value) ? undefined : value <= spec.target.max
  if (ratio === undefined) return undefined
  return spec.better === 'higher' ? ratio >= spec.target.ratio : ratio <= spec.target.ratio
}

/** The target as table text: ">= 1.0x", "<= 2.0x", "<= 45". */
export function describeTarget (spec: MetricSpec): string {
  if (spec.target === undefined) return ''
  if ('max' in spec.target) return `<= ${spec.target.max}`
  return `${spec.better === 'higher' ? '>=' : '<='} ${spec.target.ratio.toFixed(1)}x`
}
