// The limits part's figures in the broker's metrics registry and status
// sections: drops by reason, the memory budget against the board's cap,
// retained messages, throttle waits and the clients being throttled. The
// part keeps plain counters; these readers run only at scrape time.
import type { Observatory } from '../observability/observatory.ts'
import type { Throttle } from '../throttle/throttle.ts'
import type { LimitsCounters } from './limits-counters.ts'
import type { MemoryBudget } from './memory-budget.ts'
import type { MemorySample } from './memory-probe.ts'
import type { RetainedLedger } from './retained-ledger.ts'

/** What the limits part lends to its readers. */
export interface LimitsSources {
  counters: LimitsCounters
  budget: MemoryBudget
  capBytes: () => number | undefined
  retained: RetainedLedger
  throttle: Throttle
  sample: () => MemorySample | undefined
}

const LEVEL = { ok: 0, soft: 1, hard: 2 } as const

/** Registers the readers and the memory and throttles sections. */
export function registerLimitsMetrics (observe: Observatory, src: LimitsSources): void {
  const m = observe.metrics
  const c = src.counters
  const outboundDropped = (): number => {
    let n = c.outboundDropped
    for (const t of src.throttle.clients()) n += t.outboundDropped
    return n
  }
  m.read('edgemq_messages_dropped_total', (emit) => {
    emit(outboundDropped(), { reason: 'throttle' })
    emit(c.shedQos0, { reason: 'memory_budget' })
    emit(c.packetTooLarge, { reason: 'size' })
    emit(c.qos2Exceeded, { reason: 'qos2_cap' })
    emit(c.qos2Expired, { reason: 'qos2_expired' })
    emit(c.retainedRefused, { reason: 'retained_quota' })
  })
  m.read('edgemq_subscriptions_refused_total', (emit) => { emit(c.subscriptionsRefused, { reason: 'limits' }) })
  m.read('edgemq_throttle_wait_seconds_total', (emit) => { emit(c.throttledMs / 1000) })
  m.read('edgemq_retained_messages', (emit) => { emit(src.retained.count) })
  m.read('edgemq_retained_bytes', (emit) => { emit(src.retained.bytes) })
  m.read('edgemq_memory_budget_level', (emit) => { emit(LEVEL[src.budget.state]) })
  m.read('edgemq_memory_used_bytes', (emit) => { emit(src.budget.last.used) })
  m.read('edgemq_memory_soft_mark_bytes', (emit) => { emit(src.budget.marks.softMark) })
  m.read('edgemq_memory_hard_mark_bytes', (emit) => { emit(src.budget.marks.hardMark) })
  m.read('edgemq_memory_cap_bytes', (emit) => { const cap = src.capBytes(); if (cap !== undefined) emit(cap) })
  m.read('edgemq_memory_releases_total', (emit) => { emit(c.memoryReleases) })
  observe.addStatus('memory', () => {
    const s = src.sample()
    return {
      state: src.budget.state,
      usedBytes: src.budget.last.used,
      rssBytes: s?.rss,
      heapUsedBytes: s?.heapUsed,
      heapLimitBytes: s?.heapLimit,
      capBytes: src.capBytes(),
      softMarkBytes: src.budget.marks.softMark,
      hardMarkBytes: src.budget.marks.hardMark,
      entered: src.budget.entered,
      releasesAfterBurst: c.memoryReleases
    }
  })
  observe.addStatus('throttles', () => {
    const clients = [...src.throttle.clients()]
      .filter((t) => t.pausedMs > 0 || t.outboundDropped > 0)
      .sort((a, b) => b.pausedMs - a.pausedMs)
      .slice(0, 100)
      .map((t) => ({ id: t.id, listener: t.listener, source: t.source, pausedMs: Math.round(t.pausedMs), outboundDropped: t.outboundDropped }))
    return { settings: src.throttle.settings, waitSecondsTotal: c.throttledMs / 1000, clients }
  })
}
