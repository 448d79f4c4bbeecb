// $SYS statistics under $SYS/broker/, as Mosquitto names them. Only counts:
// no client ids or subscriptions are ever published (who may read $SYS at all
// is the ACL's decision).

/** Publishes into the broker. */
interface Publisher {
  publish: (msg: { topic: string, payload: Buffer, qos: 0, retain: boolean }) => Promise<void>
}

/** Periodic $SYS publisher. */
export class SysTopics {
  readonly #publisher: Publisher
  readonly #read: () => Record<string, number | string>
  readonly #started = performance.now()
  #timer: NodeJS.Timeout | undefined

  constructor (publisher: Publisher, read: () => Record<string, number | string>) {
    this.#publisher = publisher
    this.#read = read
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
