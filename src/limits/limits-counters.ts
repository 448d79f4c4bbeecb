// The limits part's counters (refusals, drops, throttled time), in their own
// module so the part and its metrics reader (limits-metrics.ts) both import
// them without importing each other.

/** Counters for `edgemq ctl limits.get` and $SYS. */
export interface LimitsCounters {
  refusedMemory: number
  refusedListenerRate: number
  refusedListenerCap: number
  shedQos0: number
  outboundDropped: number
  retainedRefused: number
  subscriptionsRefused: number
  packetTooLarge: number
  qos2Exceeded: number
  qos2Expired: number
  disconnectedHeavy: number
  throttledMs: number
  /** Full collections run after a burst (release-after-burst.ts). */
  memoryReleases: number
}
