// Reads the limits part's settings from a validated config: the limits.*,
// memory.* and throttle.* values, with the memory marks resolved against the
// board's memory cap and the cgroup limit (whichever is lower).
import { getBoard } from '../config/boards.ts'
import type { EdgemqConfig } from '../config/types.ts'
import type { ThrottleSettings } from '../throttle/throttle.ts'

/** The limits the part enforces, in bytes, ms and counts (0 = no cap). */
export interface LimitsSettings {
  maxQueuedMessages: number
  maxQueuedBytes: number
  maxSubscriptionsPerClient: number
  maxFiltersPerSubscribe: number
  maxRetainedMessages: number
  maxRetainedBytes: number
  maxRetainedMessagesPerClient: number
  maxRetainedBytesPerClient: number
  maxUnreleasedQos2: number
  qos2Expiry: number
  maxPacketSize: number
  memory: { softMark: number, hardMark: number, checkInterval: number, slowConsumerBytes: number, capBytes: number }
}

// Fractions of the memory cap used when the config sets no mark: the soft
// mark leaves headroom for GC, LevelDB compaction and a burst in flight; the
// hard mark leaves room to act before the OOM killer does.
const SOFT_FRACTION = 0.70
const HARD_FRACTION = 0.85
const MiB = 1024 * 1024

/** The limits of `config`; `cgroupLimit` (bytes) lowers the marks when the process runs under a smaller cap. */
export function readLimitsSettings (config: EdgemqConfig, cgroupLimit?: number): LimitsSettings {
  const l = config.limits
  const num = (v: unknown, fallback: number): number => typeof v === 'number' ? v : fallback
  const mem = (config.memory ?? {}) as Record<string, unknown>
  let boardCap = 0
  try { boardCap = getBoard(config.board).memoryCapMiB * MiB } catch { boardCap = 0 }
  const capBytes = cgroupLimit !== undefined && cgroupLimit > 0 && (boardCap === 0 || cgroupLimit < boardCap) ? cgroupLimit : boardCap
  const cap = capBytes > 0 ? capBytes : Number.MAX_SAFE_INTEGER
  // A configured mark above what the cap allows would never fire before the OOM killer: clamp it.
  const softMark = Math.floor(Math.min(num(mem.softMark, cap * SOFT_FRACTION), cap * 0.9))
  const hardMark = Math.floor(Math.max(softMark, Math.min(num(mem.hardMark, cap * HARD_FRACTION), cap * 0.95)))
  return {
    maxQueuedMessages: num(l.maxQueuedMessages, 0),
    maxQueuedBytes: num(l.maxQueuedBytes, 8 * MiB),
    maxSubscriptionsPerClient: num(l.maxSubscriptionsPerClient, 1000),
    maxFiltersPerSubscribe: num(l.maxFiltersPerSubscribe, 100),
    maxRetainedMessages: num(l.maxRetainedMessages, 100_000),
    maxRetainedBytes: num(l.maxRetainedBytes, 64 * MiB),
    maxRetainedMessagesPerClient: num(l.maxRetainedMessagesPerClient, 1000),
    maxRetainedBytesPerClient: num(l.maxRetainedBytesPerClient, MiB),
    maxUnreleasedQos2: num(l.maxUnreleasedQos2, 100),
    qos2Expiry: num(l.qos2Expiry, 300_000),
    maxPacketSize: l.maxPacketSize,
    memory: {
      softMark,
      hardMark,
      checkInterval: num(mem.checkInterval, 500),
      slowConsumerBytes: num(mem.slowConsumerBytes, 64 * 1024),
      capBytes
    }
  }
}

/** The throttle.* section of `config`. */
export function readThrottleSettings (config: EdgemqConfig): ThrottleSettings {
  const t = (config.throttle ?? {}) as Record<string, Record<string, unknown> | undefined>
  const n = (v: unknown): number => typeof v === 'number' ? v : 0
  return {
    global: { inboundBytesPerSecond: n(t.global?.inboundBytesPerSecond), inboundMessagesPerSecond: n(t.global?.inboundMessagesPerSecond) },
    client: {
      inboundBytesPerSecond: n(t.client?.inboundBytesPerSecond),
      inboundMessagesPerSecond: n(t.client?.inboundMessagesPerSecond),
      outboundBytesPerSecond: n(t.client?.outboundBytesPerSecond)
    },
    groups: (t.groups ?? {}) as ThrottleSettings['groups'],
    listeners: (t.listeners ?? {}) as ThrottleSettings['listeners'],
    burstSeconds: typeof t.burstSeconds === 'number' ? t.burstSeconds : 1
  }
}
