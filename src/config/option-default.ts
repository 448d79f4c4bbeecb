// The default of one option row, with its unit applied ("1MB" -> 1048576,
// "30s" -> 30000), for code that must fill a value in an object that did not
// come through the config loader. It reads the row, so the default is still
// written only there (test/config/option-defaults.test.ts).
import type { OptionSpec } from './option-spec.ts'
import { parseDuration, parseSize } from './units.ts'

/** The parsed default of the row named `key` in `table`; throws when there is no such row or it has no default. */
export function optionDefault (table: readonly OptionSpec[], key: string): unknown {
  const row = table.find((o) => o.key === key)
  if (row === undefined || row.default === undefined) throw new Error(`option ${key} has no default in its table`)
  if (row.type === 'size') return parseSize(row.default)
  if (row.type === 'duration') return parseDuration(row.default)
  return row.default
}
