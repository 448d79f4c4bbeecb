// Scenario 4, latency: QoS 1 at a fixed 2,000 msgs/s, publish-to-delivery
// p50 and p99 measured with one monotonic clock in the load generator.
import type { ScenarioRun } from './scenario-context.ts'

/** Paced QoS 1 publishing against a fresh broker. */
export const runLatencyScenario: ScenarioRun = async (ctx) => {
  const { broker } = await ctx.startBroker({ persistence: false })
  const result = await ctx.worker.call('runLatency', {
    port: broker.port,
    brokerPid: broker.pid,
    rate: ctx.counts.latencyRate,
    warmupMs: ctx.counts.latencyWarmupMs,
    durationMs: ctx.counts.latencyDurationMs,
    payloadBytes: ctx.counts.payloadBytes
  })
  const exit = await broker.stop()
  ctx.log(`${ctx.kind}: latency p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms over ${result.samples} samples at ${result.achievedRate} msg/s`)
  if (result.received < result.sent) throw new Error(`${ctx.kind} delivered ${result.received} of ${result.sent} QoS 1 messages in the latency run`)
  return { metrics: { 'latency.p50': result.p50Ms, 'latency.p99': result.p99Ms }, details: { ...result, exit } }
}
