// Reads the limits part's settings from a validated config: the limits.*,
// memory.* and throttle.* values, with the memory marks resolved against the
// board's memory cap and the cgroup limit (whichever is lower).
import { getBoard } from '../config/boards.ts'
import type { EdgemqConfig } from '../config/types.ts'
import type { ThrottleSettings } from '../throttle/throttle.ts'

/** The limits.* keys the part enforces, as the loaded config has them (each key's meaning and default: its row in limits-options.ts). */
const ENFORCED = ['maxQueuedMessages', 'maxQueuedBytes', 'maxSubscriptionsPerClient', 'maxFiltersPerSubscribe', 'maxRetainedMessages', 'maxRetainedBytes', 'maxRetainedMessagesPerClient', 'maxRetainedBytesPerClient', 'maxUnreleasedQos2', 'qos2Expiry', 'maxPacketSize'] as const

/** The limits the part enforces, in bytes, ms and counts (0 = no cap), and the memory marks resolved against the cap. */
export type LimitsSettings = Pick<EdgemqConfig['limits'], typeof ENFORCED[number]> & {
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
  // Every value comes from the loaded config, which has each option's default
  // from its table row (src/limits/limits-options.ts): no fallback here.
  const l = config.limits
  const mem = config.memory
  let boardCap = 0
  try { boardCap = getBoard(config.board).memoryCapMiB * MiB } catch { boardCap = 0 }
  const capBytes = cgroupLimit !== undefined && cgroupLimit > 0 && (boardCap === 0 || cgroupLimit < boardCap) ? cgroupLimit : boardCap
  const cap = capBytes > 0 ? capBytes : Number.MAX_SAFE_INTEGER
  // A configured mark above what the cap allows would never fire before the OOM killer: clamp it.
  const softMark = Math.floor(Math.min(mem.softMark ?? cap * SOFT_FRACTION, cap * 0.9))
  const hardMark = Math.floor(Math.max(softMark, Math.min(mem.hardMark ?? cap * HARD_FRACTION, cap * 0.95)))
  const picked = Object.fromEntries(ENFORCED.map((key) => [key, l[key]])) as Pick<EdgemqConfig['limits'], typeof ENFORCED[number]>
  return {
    ...picked,
    memory: {
      softMark,
      hardMark,
      checkInterval: mem.checkInterval,
      slowConsumerBytes: mem.slowConsumerBytes,
      capBytes
    }
  }
}

/** The throttle.* section of `config`. */
export function readThrottleSettings (config: EdgemqConfig): ThrottleSettings {
  const t = config.throttle
  return {
    global: { ...t.global },
    client: { ...t.client },
    groups: t.groups as ThrottleSettings['groups'],
    listeners: t.listeners as ThrottleSettings['listeners'],
    burstSeconds: t.burstSeconds
  }
}
