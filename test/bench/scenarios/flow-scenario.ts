// Scenarios 2 and 3, throughput: fan-in (50 publishers to 1 subscriber) at
// QoS 0 and QoS 1, fan-out (1 publisher to 200 subscribers) at QoS 0. Each
// run gets a fresh broker, so its VmHWM is the peak RSS of that run alone.
import type { FlowParams } from '../loads/flow-load.ts'
import type { ScenarioContext, ScenarioOutcome, ScenarioRun } from './scenario-context.ts'
import { toMiB } from './scenario-context.ts'

/** Load generator CPU (percent of its core) above which a throughput figure is flagged. */
const LOAD_SATURATION_PERCENT = 85

async function measureFlow (ctx: ScenarioContext, prefix: string, shape: Pick<FlowParams, 'publishers' | 'subscribers' | 'qos' | 'window' | 'pubInflight'>): Promise<ScenarioOutcome> {
  const { broker } = await ctx.startBroker({ persistence: false })
  const result = await ctx.worker.call('runFlow', {
    ...shape,
    port: broker.port,
    brokerPid: broker.pid,
    payloadBytes: ctx.counts.payloadBytes,
    warmupMs: ctx.counts.flowWarmupMs,
    durationMs: ctx.counts.flowDurationMs
  })
  const memory = broker.memory()
  const tree = broker.treeMemory()
  const exit = await broker.stop()
  // The generator has one core; near it, the figure may be the client's limit rather than the broker's.
  const loadBound = result.loadCpuPercent > LOAD_SATURATION_PERCENT
  if (loadBound) ctx.log(`warning: the load generator used ${result.loadCpuPercent} % of its core in ${ctx.kind} ${prefix}: the figure may be the client's limit`)
  ctx.log(`${ctx.kind}: ${prefix} ${result.deliveriesPerSecond} deliveries/s, peak RSS ${toMiB(memory.hwmKiB)} MiB, broker CPU ${result.brokerCpuPercent} % (waited ${result.brokerWaitPercent} %), load CPU ${result.loadCpuPercent} %${result.lost > 0 ? `, ${result.lost} lost` : ''}${result.stalled ? ', STALLED' : ''}`)
  return {
    metrics: { [`${prefix}.rate`]: result.deliveriesPerSecond, [`${prefix}.peakRss`]: toMiB(memory.hwmKiB) },
    details: { ...shape, ...result, loadBound, peakRssKiB: memory.hwmKiB, treePeakRssKiB: tree.hwmKiB, exit }
  }
}

/** Fan-in at QoS 0 then QoS 1: msgs/s received by the one subscriber. */
export const runFanInScenario: ScenarioRun = async (ctx) => {
  const publishers = ctx.counts.fanInPublishers
  const qos0 = await measureFlow(ctx, 'fanIn0', { publishers, subscribers: 1, qos: 0, window: 5_000, pubInflight: 0 })
  const qos1 = await measureFlow(ctx, 'fanIn1', { publishers, subscribers: 1, qos: 1, window: 2_000, pubInflight: 20 })
  return { metrics: { ...qos0.metrics, ...qos1.metrics }, details: { qos0: qos0.details, qos1: qos1.details } }
}

/** Fan-out at QoS 0: deliveries/s summed over the 200 subscribers. */
export const runFanOutScenario: ScenarioRun = async (ctx) => {
  return await measureFlow(ctx, 'fanOut0', { publishers: 1, subscribers: ctx.counts.fanOutSubscribers, qos: 0, window: 10_000, pubInflight: 0 })
}
