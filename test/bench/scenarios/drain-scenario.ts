// Scenario 5, drain: 1,000 persistent sessions (clean session off, one QoS 1
// subscription each), 100k QoS 1 messages queued while they are offline, the
// broker stopped with SIGTERM and started again on the same data, then the
// time from the first reconnect until every message has been delivered once.
import { survivesRestart } from '../broker-kinds.ts'
import type { ScenarioOutcome, ScenarioRun } from './scenario-context.ts'

/** Queue, restart, reconnect, drain. Plain aedes keeps sessions in RAM only: it has no figure here. */
export const runDrainScenario: ScenarioRun = async (ctx): Promise<ScenarioOutcome> => {
  if (!survivesRestart(ctx.kind)) return { metrics: {}, details: { skipped: `${ctx.kind} keeps sessions in memory only: nothing survives a restart` } }
  const { broker, launch } = await ctx.startBroker({ persistence: true })
  const set = { port: broker.port, sessions: ctx.counts.drainSessions, prefix: 'drain' }
  const setup = await ctx.worker.call('setupSessions', set)
  const io0 = broker.io()
  const queued = await ctx.worker.call('queueMessages', { ...set, messages: ctx.counts.drainMessages, payloadBytes: ctx.counts.payloadBytes, inflight: 100 })
  ctx.log(`${ctx.kind}: ${ctx.counts.drainMessages} QoS 1 messages queued for ${set.sessions} offline sessions at ${queued.perSecond} msg/s`)
  const stopped = await broker.stop()
  if (stopped.forced) throw new Error(`${ctx.kind} did not exit within 60 s of SIGTERM\n${broker.logTail()}`)
  const restarted = await ctx.restartBroker(launch)
  const drained = await ctx.worker.call('drainSessions', { ...set, messages: ctx.counts.drainMessages, timeoutMs: ctx.counts.drainTimeoutMs, concurrency: 200 }, ctx.counts.drainTimeoutMs + 60_000)
  const memory = restarted.memory()
  const exit = await restarted.stop()
  ctx.log(`${ctx.kind}: drained ${drained.distinct} of ${ctx.counts.drainMessages} in ${drained.ms} ms after a ${Math.round(restarted.startMs)} ms restart (${drained.sessionsPresent} sessions present, ${drained.duplicates} duplicates)`)
  const details = {
    sessions: set.sessions,
    messages: ctx.counts.drainMessages,
    setupMs: setup.ms,
    queue: queued,
    queueWriteBytes: stopped.io === undefined ? undefined : stopped.io.writeBytes - io0.writeBytes,
    stop: stopped,
    restartMs: Math.round(restarted.startMs),
    drain: drained,
    peakRssKiBAfterRestart: memory.hwmKiB,
    exit
  }
  if (!drained.complete) {
    const why = drained.sessionsPresent === 0 ? `; none of the ${set.sessions} sessions survived the restart (CONNACK session present = 0)` : ''
    throw Object.assign(new Error(`${ctx.kind} delivered ${drained.distinct} of ${ctx.counts.drainMessages} queued messages within ${Math.round(drained.ms / 1000)} s${why}`), { details })
  }
  return { metrics: { 'drain.seconds': drained.ms / 1000, 'drain.restartMs': Math.round(restarted.startMs) }, details }
}
