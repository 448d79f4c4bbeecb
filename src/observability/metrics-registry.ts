// The one metrics registry of a broker: a prom-client Registry holding one
// metric per row of the catalogue. Nothing is counted here. The parts keep
// plain counters (a `n++` on the packet path: O(1), no allocation per
// message) and register readers; prom-client calls each metric's collect()
// at scrape time, which asks the readers for the current values. /metrics,
// the JSON API, the status page and $SYS all read through this registry.
import * as client from './prom-client-core.ts'
import { METRICS, type MetricDef } from './metric-catalogue.ts'

/** Labels of one sample. */
export type Labels = Readonly<Record<string, string | number>>

/** Reports one value (labels omitted for a metric without labels). */
export type Emit = (value: number, labels?: Labels) => void

/** Called at scrape time; emits the current values of one metric. */
export type MetricReader = (emit: Emit) => void | Promise<void>

/** One value read through the registry. */
export interface MetricSample { labels: Record<string, string | number>, value: number }

/** The registry and the readers behind each metric. */
export class MetricsRegistry {
  /** The prom-client registry (one per broker: tests run several brokers in one process). */
  readonly registry = new client.Registry()
  readonly #readers = new Map<string, MetricReader[]>()
  readonly #defs = new Map<string, MetricDef>()

  constructor (catalogue: readonly MetricDef[] = METRICS) {
    for (const def of catalogue) this.#add(def)
  }

  #add (def: MetricDef): void {
    const readers: MetricReader[] = []
    this.#readers.set(def.name, readers)
    this.#defs.set(def.name, def)
    const labelNames = [...def.labels]
    // collect() runs on every read: the values are set afresh from the
    // readers, so a label that went away (a removed bridge) goes away too.
    if (def.type === 'counter') {
      const counter: client.Counter<string> = new client.Counter({
        name: def.name,
        help: def.help,
        labelNames,
        registers: [this.registry],
        collect: async () => {
          counter.reset()
          const emit: Emit = (value, labels) => { if (Number.isFinite(value) && value >= 0) counter.inc(toLabels(labels), value) }
          for (const r of readers) await r(emit)
        }
      })
    } else {
      const gauge: client.Gauge<string> = new client.Gauge({
        name: def.name,
        help: def.help,
        labelNames,
        registers: [this.registry],
        collect: async () => {
          gauge.reset()
          const emit: Emit = (value, labels) => { if (Number.isFinite(value)) gauge.set(toLabels(labels), value) }
          for (const r of readers) await r(emit)
        }
      })
    }
  }

  /** Adds a reader to a metric of the catalogue; returns its removal. */
  read (name: string, reader: MetricReader): () => void {
    const readers = this.#readers.get(name)
    if (readers === undefined) throw new Error(`no metric ${name} in the catalogue (src/observability/metric-catalogue.ts)`)
    readers.push(reader)
    return () => { const i = readers.indexOf(reader); if (i >= 0) readers.splice(i, 1) }
  }

  /** The Prometheus text exposition. */
  async text (): Promise<string> {
    return await this.registry.metrics()
  }

  /** The content type of text(). */
  get contentType (): string {
    return this.registry.contentType
  }

  /** Every metric's current samples, by name (for the JSON API and $SYS). */
  async samples (): Promise<Map<string, MetricSample[]>> {
    const out = new Map<string, MetricSample[]>()
    for (const m of await this.registry.getMetricsAsJSON()) {
      out.set(m.name, (m.values as Array<{ labels: Record<string, string | number>, value: number }>).map((v) => ({ labels: { ...v.labels }, value: v.value })))
    }
    return out
  }

  /** The definitions (name, type, labels, help). */
  definitions (): MetricDef[] {
    return [...this.#defs.values()]
  }
}

/** A label set prom-client accepts (string values). */
function toLabels (labels: Labels | undefined): Record<string, string | number> {
  return labels === undefined ? {} : labels as Record<string, string | number>
}

/** The sum of a metric's samples (0 when absent). */
export function sumOf (samples: Map<string, MetricSample[]>, name: string): number {
  let n = 0
  for (const s of samples.get(name) ?? []) n += s.value
  return n
}
