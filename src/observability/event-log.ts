// Say what happened, without letting an attacker flood the log (issue 15:
// ACL-denied publishes, connects, disconnects, oversized packets and failed
// client-certificate handshakes left no trace). Each kind of event may write
// `burst` lines per `windowMs`; past that its lines are counted, and one
// summary line says how many were suppressed when the window turns.
import type { LogFields, LogLevel, Logger } from './logger.ts'

/** Events worth a line, by kind (the kind is also the rate-limit bucket). */
export interface EventLog {
  /**
   * Logs `msg` at `level` unless this kind already wrote `burst` lines in the
   * current window. `fields` may be a function: it is called only for a line
   * that is written (a connect storm builds no fields for suppressed lines).
   * A level the logger does not write is neither written nor counted.
   */
  event: (kind: string, level: LogLevel, msg: string, fields?: LogFields | (() => LogFields)) => void
  /** Lines suppressed so far, by kind (tests, stats). */
  suppressed: () => Record<string, number>
}

/** A rate-limited event logger over `logger`. */
export function createEventLog (logger: Logger, options: { burst?: number, windowMs?: number, now?: () => number } = {}): EventLog {
  const burst = options.burst ?? 20
  const windowMs = options.windowMs ?? 10_000
  const now = options.now ?? (() => performance.now())
  const kinds = new Map<string, { start: number, written: number, dropped: number, level: LogLevel }>()
  const total: Record<string, number> = {}
  return {
    event: (kind, level, msg, fields) => {
      if (logger.enabled?.(level) === false) return
      const t = now()
      let k = kinds.get(kind)
      if (k === undefined) { k = { start: t, written: 0, dropped: 0, level }; kinds.set(kind, k) }
      if (t - k.start >= windowMs) {
        if (k.dropped > 0) logger[k.level]('log lines suppressed (rate limit)', { event: kind, suppressed: k.dropped, windowSeconds: Math.round((t - k.start) / 1000) })
        k.start = t; k.written = 0; k.dropped = 0
      }
      if (k.written < burst) {
        k.written++
        logger[level](msg, typeof fields === 'function' ? fields() : fields)
        return
      }
      k.dropped++
      k.level = level
      total[kind] = (total[kind] ?? 0) + 1
    },
    suppressed: () => ({ ...total })
  }
}
