// The table `npm run bench` prints: one row per figure, a column per broker,
// a ratio column per broker other than Mosquitto, then edgemq's target.
import { METRICS, describeTarget, meetsTarget, ratioToMosquitto } from './metric-catalogue.ts'
import type { BrokerKind } from './broker-kinds.ts'

/** Figures by metric key, then by broker. */
export type MetricValues = Record<string, Partial<Record<BrokerKind, number>>>

/** One row of the results, as written to the JSON file. */
export interface MetricRow {
  key: string
  label: string
  unit: string
  better: 'higher' | 'lower'
  target: string
  values: Partial<Record<BrokerKind, number>>
  /** <broker> / mosquitto for each other broker. */
  ratios: Partial<Record<BrokerKind, number>>
  /** Whether edgemq meets the target (absent when there is no target or no figure). */
  meetsTarget?: boolean
  /** Every run's figure when a scenario ran more than once (`values` holds the medians). */
  runs?: Partial<Record<BrokerKind, number[]>>
}

/** The median of a non-empty list. */
export function median (values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** Figures of every run by metric key and broker. */
export type MetricRuns = Record<string, Partial<Record<BrokerKind, number[]>>>

/** Reduces repeated runs to their medians. */
export function medians (runs: MetricRuns): MetricValues {
  const out: MetricValues = {}
  for (const [key, byBroker] of Object.entries(runs)) {
    out[key] = {}
    for (const [kind, list] of Object.entries(byBroker) as Array<[BrokerKind, number[]]>) {
      if (list.length > 0) out[key][kind] = median(list)
    }
  }
  return out
}

/** Builds the rows for the metrics that have at least one figure. */
export function buildRows (runs: MetricRuns, brokers: readonly BrokerKind[]): MetricRow[] {
  const values = medians(runs)
  const rows: MetricRow[] = []
  for (const spec of METRICS) {
    const v = values[spec.key]
    if (v === undefined || Object.keys(v).length === 0) continue
    const ratios: Partial<Record<BrokerKind, number>> = {}
    for (const b of brokers) {
      if (b === 'mosquitto') continue
      const r = ratioToMosquitto(v[b], v.mosquitto)
      if (r !== undefined) ratios[b] = Math.round(r * 1000) / 1000
    }
    const row: MetricRow = { key: spec.key, label: spec.label, unit: spec.unit, better: spec.better, target: describeTarget(spec), values: v, ratios }
    const verdict = brokers.includes('edgemq') ? meetsTarget(spec, v.edgemq, ratios.edgemq) : undefined
    if (verdict !== undefined) row.meetsTarget = verdict
    if (Object.values(runs[spec.key] ?? {}).some((list) => list.length > 1)) row.runs = runs[spec.key]
    rows.push(row)
  }
  return rows
}

/** Formats a figure with sensible precision for a table cell. */
export function formatNumber (n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '-'
  const abs = Math.abs(n)
  if (abs >= 10_000) return Math.round(n).toLocaleString('en-US')
  if (abs >= 100) return n.toFixed(0)
  if (abs >= 10) return n.toFixed(1)
  return n.toFixed(2)
}

/** Renders the rows as a fixed-width text table. */
export function formatTable (rows: readonly MetricRow[], brokers: readonly BrokerKind[]): string {
  const others = brokers.filter((b) => b !== 'mosquitto')
  const hasEdgemq = brokers.includes('edgemq')
  const header = ['figure', 'unit', ...brokers, ...others.map((b) => `${b}/mosq`), ...(hasEdgemq ? ['target', 'edgemq'] : [])]
  const body = rows.map((r) => [
    r.label,
    r.unit,
    ...brokers.map((b) => formatNumber(r.values[b])),
    ...others.map((b) => r.ratios[b] === undefined ? '-' : `${r.ratios[b]?.toFixed(2)}x`),
    ...(hasEdgemq ? [r.target, r.meetsTarget === undefined ? '' : r.meetsTarget ? 'ok' : 'MISS'] : [])
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)))
  const line = (cells: string[]): string => cells.map((c, i) => i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i])).join('  ').trimEnd()
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n')
}
