// Small pure helpers for the numbers the harness reports.

/** The q-quantile (0..1) of ascending-sorted samples, nearest rank; NaN when there are none. */
export function quantile (sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.ceil(q * sorted.length) - 1
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]
}

/** A value rounded to `digits` decimals, for JSON that people read. */
export function round (value: number, digits = 2): number {
  const f = 10 ** digits
  return Math.round(value * f) / f
}

/** Percent of one core used, from CPU seconds spent over wall seconds. */
export function cpuPercent (cpuSeconds: number, wallSeconds: number): number {
  return wallSeconds > 0 ? round(100 * cpuSeconds / wallSeconds, 1) : Number.NaN
}
