// Sizes and durations as people write them in config files: "256KB", "64MB",
// "30s", "5m". Plain numbers are bytes and milliseconds.

const SIZE_UNITS: Record<string, number> = {
  B: 1, KB: 1024, KIB: 1024, K: 1024, MB: 1024 ** 2, MIB: 1024 ** 2, M: 1024 ** 2, GB: 1024 ** 3, GIB: 1024 ** 3, G: 1024 ** 3
}
const DURATION_UNITS: Record<string, number> = { MS: 1, S: 1000, M: 60_000, MIN: 60_000, H: 3_600_000, D: 86_400_000 }

/** Parses "256KB", "64 MiB", "1024" or 1024 to bytes; undefined when it is not a size. */
export function parseSize (value: unknown): number | undefined {
  return parseWithUnits(value, SIZE_UNITS)
}

/** Parses "30s", "5m", "250ms", "1h" or 30000 to milliseconds; undefined when it is not a duration. */
export function parseDuration (value: unknown): number | undefined {
  return parseWithUnits(value, DURATION_UNITS)
}

/**
 * Durations need their unit (issue 15: `drainTimeout: 30`, `sessionExpiryMax: 7`
 * and `sys.interval: 10` were taken as milliseconds without a word). A bare
 * number other than 0 is refused with the fix; returns the problem or undefined.
 */
export function checkDurationUnit (value: unknown): string | undefined {
  const bare = typeof value === 'number' ? value : typeof value === 'string' && /^\s*\d+(?:\.\d+)?\s*$/.test(value) ? Number(value) : undefined
  if (bare === undefined || bare === 0) return undefined
  return `a duration with its unit: write ${bare}ms, ${bare}s, ${bare}m or ${bare}h (a bare number is ambiguous; 0 needs none)`
}

/** Formats bytes the way a config file would say them ("256KB", "64MB"). */
export function formatSize (bytes: number): string {
  for (const [unit, factor] of [['GB', 1024 ** 3], ['MB', 1024 ** 2], ['KB', 1024]] as const) {
    if (bytes >= factor && bytes % factor === 0) return `${bytes / factor}${unit}`
  }
  return `${bytes}B`
}

/** Formats milliseconds the way a config file would say them ("30s", "5m"). */
export function formatDuration (ms: number): string {
  for (const [unit, factor] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= factor && ms % factor === 0) return `${ms / factor}${unit}`
  }
  return `${ms}ms`
}

function parseWithUnits (value: unknown, units: Record<string, number>): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined
  if (typeof value !== 'string') return undefined
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value)
  if (m === null) return undefined
  const factor = m[2] === '' ? 1 : units[m[2].toUpperCase()]
  if (factor === undefined) return undefined
  const n = Number(m[1]) * factor
  return Number.isSafeInteger(Math.round(n)) ? Math.round(n) : undefined
}
