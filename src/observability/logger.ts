// One line per event: `<ISO time> <level> <component>: <message> key=value ...`.
// Stable on purpose: Fail2Ban and operators grep these lines (docs/security.md).

import { redactSecrets } from './redact-secrets.ts'

/** Log levels, lowest first. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const
/** A log level name. */
export type LogLevel = typeof LOG_LEVELS[number]

/** Key/value fields appended to a log line. */
export type LogFields = Record<string, string | number | boolean | undefined>

/** What every part of the broker logs through. */
export interface Logger {
  debug: (msg: string, fields?: LogFields) => void
  info: (msg: string, fields?: LogFields) => void
  warn: (msg: string, fields?: LogFields) => void
  error: (msg: string, fields?: LogFields) => void
  /** A logger whose lines carry another component name. */
  child: (component: string) => Logger
  /** Change the level at run time (config reload). */
  setLevel: (level: LogLevel) => void
  /** Whether a line at `level` would be written now (absent: assume it would); lets a caller skip building its fields. */
  enabled?: (level: LogLevel) => boolean
}

/** Where lines go; stderr by default so stdout stays clean for CLI output. */
export type LogSink = (line: string) => void

/** Creates a logger writing single-line records to `sink`. */
export function createLogger (options: { level?: LogLevel, component?: string, sink?: LogSink, now?: () => Date } = {}): Logger {
  const state = { level: LOG_LEVELS.indexOf(options.level ?? 'info') }
  const sink = options.sink ?? ((line: string) => { process.stderr.write(line + '\n') })
  const now = options.now ?? (() => new Date())
  const make = (component: string): Logger => {
    const emit = (level: LogLevel, msg: string, fields?: LogFields): void => {
      if (LOG_LEVELS.indexOf(level) < state.level) return
      // No password, key, token or URL userinfo in any line (issue 15).
      sink(redactSecrets(`${now().toISOString()} ${level} ${component}: ${msg}${formatFields(fields)}`))
    }
    return {
      debug: (m, f) => emit('debug', m, f),
      info: (m, f) => emit('info', m, f),
      warn: (m, f) => emit('warn', m, f),
      error: (m, f) => emit('error', m, f),
      child: (c) => make(c),
      setLevel: (level) => { state.level = LOG_LEVELS.indexOf(level) },
      enabled: (level) => LOG_LEVELS.indexOf(level) >= state.level
    }
  }
  return make(options.component ?? 'edgemq')
}

/** A logger that drops everything (library use, tests that do not read logs). */
export const silentLogger: Logger = {
  debug () {}, info () {}, warn () {}, error () {}, child () { return silentLogger }, setLevel () {}, enabled () { return false }
}

function formatFields (fields: LogFields | undefined): string {
  if (fields === undefined) return ''
  let out = ''
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue
    const text = String(value)
    // Quote values with spaces or quotes so a line always splits the same way.
    out += ` ${key}=${/[\s"=]/.test(text) || text === '' ? JSON.stringify(text) : text}`
  }
  return out
}
