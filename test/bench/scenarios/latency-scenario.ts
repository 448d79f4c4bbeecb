// Scenario 4, latency: QoS 1 at a fixed 2,000 msgs/s, publish-to-delivery
// p50 and p99 measured with one monotonic clock in the load generator; once
// with a clean-session subscriber and once with a persistent one (clean
// session off: every message is one a crash must not lose), each against a
// fresh broker (Mosquitto with its persistence on for the second).
import type { ScenarioContext, ScenarioOutcome, ScenarioRun } from './scenario-context.ts'

async function measureLatency (ctx: ScenarioContext, prefix: string, persistent: boolean): Promise<ScenarioOutcome> {
  const { broker } = await ctx.startBroker({ persistence: persistent })
  const result = await ctx.worker.call('runLatency', {
    port: broker.port,
    brokerPid: broker.pid,
    rate: ctx.counts.latencyRate,
    warmupMs: ctx.counts.latencyWarmupMs,
    durationMs: ctx.counts.latencyDurationMs,
    payloadBytes: ctx.counts.payloadBytes,
    persistent
  })
  const memory = broker.memory()
  const exit = await broker.stop()
  ctx.log(`${ctx.kind}: ${prefix} p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms over ${result.samples} samples at ${result.achievedRate} msg/s, broker CPU ${result.brokerCpuPercent} %`)
  if (result.received < result.sent) throw new Error(`${ctx.kind} delivered ${result.received} of ${result.sent} QoS 1 messages in the ${prefix} run`)
  return { metrics: { [`${prefix}.p50`]: result.p50Ms, [`${prefix}.p99`]: result.p99Ms }, details: { ...result, persistent, peakRssKiB: memory.hwmKiB, exit } }
}

/** Paced QoS 1 publishing: a clean-session subscriber, then a persistent one. */
export const runLatencyScenario: ScenarioRun = async (ctx) => {
  const clean = await measureLatency(ctx, 'latency', false)
  const persistent = await measureLatency(ctx, 'latencyPersistent', true)
  return { metrics: { ...clean.metrics, ...persistent.metrics }, details: { clean: clean.details, persistent: persistent.details } }
}
