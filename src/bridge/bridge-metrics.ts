// The bridges' figures in the broker's metrics registry and the bridges
// status section, read at scrape time from each bridge's status().
import type { Observatory } from '../observability/observatory.ts'
import type { BridgeStatus } from './bridge.ts'

/** Registers one reader per bridge metric; `status` lists the running bridges. */
export function registerBridgeMetrics (observe: Observatory, status: () => BridgeStatus[]): void {
  const m = observe.metrics
  const each = (name: string, value: (b: BridgeStatus) => number): void => {
    m.read(name, (emit) => { for (const b of status()) emit(value(b), { bridge: b.name }) })
  }
  each('edgemq_bridge_up', (b) => b.connected ? 1 : 0)
  each('edgemq_bridge_enabled', (b) => b.enabled ? 1 : 0)
  each('edgemq_bridge_queue_messages', (b) => b.queue.messages)
  each('edgemq_bridge_queue_bytes', (b) => b.queue.bytes)
  each('edgemq_bridge_queue_oldest_age_seconds', (b) => b.queue.oldestAgeSeconds)
  each('edgemq_bridge_inflight_messages', (b) => b.queue.inflight)
  each('edgemq_bridge_forwarded_total', (b) => b.counters.enqueued)
  each('edgemq_bridge_acked_total', (b) => b.counters.delivered)
  each('edgemq_bridge_retried_total', (b) => b.counters.connectFailures)
  each('edgemq_bridge_received_total', (b) => b.counters.received)
  m.read('edgemq_bridge_dropped_total', (emit) => {
    for (const b of status()) {
      emit(b.counters.dropped, { bridge: b.name, reason: 'queue_full' })
      emit(b.counters.refused, { bridge: b.name, reason: 'refused' })
      emit(b.counters.corrupt, { bridge: b.name, reason: 'corrupt' })
      emit(b.counters.rejectedUpstream, { bridge: b.name, reason: 'rejected_upstream' })
    }
  })
  observe.addStatus('bridges', status)
}
