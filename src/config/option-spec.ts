// The shape of one row of the option table. Docs, `edgemq config --explain`,
// validation and board checks are all derived from these rows.

/** Value types the config understands. */
export type OptionType =
  | 'string' | 'path' | 'int' | 'number' | 'bool'
  | 'size' // bytes; "256KB", "64MB" or a number
  | 'duration' // milliseconds, written with a unit: "30s", "5m", "250ms" (a bare number other than 0 is refused)
  | 'enum' | 'string[]' | 'cidr[]'
  | 'list' // a list of objects with their own field table (listeners, bridges)
  | 'object' // free-form object validated by the part that owns it

/** How a change to this option takes effect. */
export type ReloadMode = 'live' | 'restart' | 'listener'

/** One option: key, type, unit, default, why, and how it reloads. */
export interface OptionSpec {
  /** Dotted path in the config file, e.g. "limits.maxPacketSize". */
  key: string
  type: OptionType
  /** Default value in config-file form (before unit parsing); undefined = unset. */
  default?: unknown
  /** Unit for docs ("bytes", "ms", "connections"). */
  unit?: string
  /** One line: what it does. */
  doc: string
  /** Why the default is what it is (the attack it stops, the measurement behind it). */
  reason: string
  reload: ReloadMode
  /** Whether a board profile may set it (limits and resources, never listeners or auth). */
  board?: boolean
  min?: number
  max?: number
  values?: readonly string[]
  /** Field table for type 'list'. */
  fields?: readonly OptionSpec[]
  /** Extra check on the parsed value; returns a problem ("must be ...") or undefined. */
  check?: (value: unknown) => string | undefined
}
