// $SYS statistics under $SYS/broker/, as Mosquitto names them. Only counts:
// no client ids or subscriptions are ever published (who may read $SYS at all
// is the ACL's decision). The counts come from the broker's one metrics
// registry (SYS_FROM_METRICS), so $SYS and /metrics never disagree.
import { sumOf, type MetricsRegistry } from './metrics-registry.ts'

/** $SYS/broker/<key> ← the sum of a metric's samples in the registry. */
export const SYS_FROM_METRICS: Readonly<Record<string, string>> = {
  'clients/connected': 'edgemq_connections',
  'connections/open': 'edgemq_sockets_open',
  'connections/refused': 'edgemq_connects_refused_total',
  'messages/received': 'edgemq_messages_received_total',
  'messages/sent': 'edgemq_messages_sent_total',
  'messages/dropped': 'edgemq_messages_dropped_total',
  'bytes/received': 'edgemq_received_bytes_total',
  'bytes/sent': 'edgemq_sent_bytes_total',
  'retained messages/count': 'edgemq_retained_messages',
  'subscriptions/count': 'edgemq_subscriptions',
  'bans/active': 'edgemq_bans_active',
  'store/journal pending': 'edgemq_journal_pending_messages',
  'messages/inflight': 'edgemq_inflight_messages',
  'store/queued messages': 'edgemq_offline_queue_messages',
  'store/queued bytes': 'edgemq_offline_queue_bytes'
}

/** Metrics that have no sample while their value is unknown (the queues not yet counted): their $SYS topic waits too. */
const ABSENT_UNTIL_KNOWN = new Set(['edgemq_offline_queue_messages', 'edgemq_offline_queue_bytes'])

/** Publishes into the broker. */
interface Publisher {
  publish: (msg: { topic: string, payload: Buffer, qos: 0, retain: boolean }) => Promise<void>
}

/** Periodic $SYS publisher. */
export class SysTopics {
  readonly #publisher: Publisher
  readonly #read: () => Record<string, number | string>
  readonly #metrics: MetricsRegistry | undefined
  readonly #started = performance.now()
  #timer: NodeJS.Timeout | undefined

  constructor (publisher: Publisher, read: () => Record<string, number | string>, metrics?: MetricsRegistry) {
    this.#publisher = publisher
    this.#read = read
    this.#metrics = metrics
  }

  /** The counts of SYS_FROM_METRICS, read from the registry. */
  async #fromMetrics (): Promise<Record<string, number>> {
    if (this.#metrics === undefined) return {}
    const samples = await this.#metrics.samples()
    const out: Record<string, number> = {}
    for (const [key, name] of Object.entries(SYS_FROM_METRICS)) {
      if (!samples.has(name) || (ABSENT_UNTIL_KNOWN.has(name) && samples.get(name)?.length === 0)) continue
      out[key] = sumOf(samples, name)
    }
    return out
  }

  /** Starts publishing every `intervalMs` (0 = off). */
  start (intervalMs: number): void {
    if (intervalMs <= 0) return
    void this.publishNow()
    this.#timer = setInterval(() => { void this.publishNow() }, intervalMs)
    this.#timer.unref()
  }

  /** Publishes every value once (retained, so a new subscriber sees the latest). */
  async publishNow (): Promise<void> {
    const values: Record<string, number | string> = {
      version: `edgemq ${typeof EDGEMQ_VERSION === 'string' ? EDGEMQ_VERSION : 'dev'}`,
      // uptime from the monotonic clock: a wall-clock jump at boot must not change it
      uptime: Math.floor((performance.now() - this.#started) / 1000),
      'heap/current': process.memoryUsage().heapUsed,
      'memory/rss': process.memoryUsage.rss(),
      ...await this.#fromMetrics().catch(() => ({})),
      ...this.#read()
    }
    for (const [key, value] of Object.entries(values)) {
      await this.#publisher.publish({ topic: `$SYS/broker/${key}`, payload: Buffer.from(String(value)), qos: 0, retain: true }).catch(() => {})
    }
  }

  /** Stops the timer. */
  stop (): void {
    if (this.#timer !== undefined) clearInterval(this.#timer)
  }
}
