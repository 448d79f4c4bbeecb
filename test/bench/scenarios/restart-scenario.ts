// Scenario, restart to listening with 100k queued (issue 11): 500 persistent
// sessions, 100k QoS 1 messages queued for them while offline, then the broker
// stopped with SIGTERM and started again on the same data several times; the
// figure is the median time from spawn to a listening socket. The last start
// is checked: one session reconnects and must find its session.
import { median } from '../results-table.ts'
import { survivesRestart } from '../broker-kinds.ts'
import type { BrokerProcess } from '../broker-process.ts'
import type { ScenarioOutcome, ScenarioRun } from './scenario-context.ts'

/** Queues restartMessages, then times restartRounds restarts on that data. */
export const runRestartScenario: ScenarioRun = async (ctx): Promise<ScenarioOutcome> => {
  if (!survivesRestart(ctx.kind)) return { metrics: {}, details: { skipped: `${ctx.kind} keeps sessions in memory only: nothing survives a restart` } }
  const { broker, launch } = await ctx.startBroker({ persistence: true })
  const set = { port: broker.port, sessions: ctx.counts.restartSessions, prefix: 'restart' }
  await ctx.worker.call('setupSessions', set)
  const queued = await ctx.worker.call('queueMessages', { ...set, messages: ctx.counts.restartMessages, payloadBytes: ctx.counts.payloadBytes, inflight: 100 })
  ctx.log(`${ctx.kind}: ${ctx.counts.restartMessages} QoS 1 messages queued for ${set.sessions} offline sessions at ${queued.perSecond} msg/s`)
  let current: BrokerProcess = broker
  const starts: number[] = []
  const stops: number[] = []
  for (let round = 0; round < ctx.counts.restartRounds; round++) {
    const stopped = await current.stop()
    if (stopped.forced) throw new Error(`${ctx.kind} did not exit within 60 s of SIGTERM\n${current.logTail()}`)
    stops.push(Math.round(stopped.stopMs))
    current = await ctx.restartBroker(launch)
    starts.push(Math.round(current.startMs))
  }
  // The data really was there: one session comes back with its session and its 200 messages.
  const check = await ctx.worker.call('drainSessions', { ...set, sessions: 1, messages: ctx.counts.restartMessages, timeoutMs: 30_000, concurrency: 1, expected: ctx.counts.restartMessages / set.sessions })
  await current.stop()
  const ms = median(starts)
  ctx.log(`${ctx.kind}: restart to listening with ${ctx.counts.restartMessages} queued: ${starts.join(', ')} ms (median ${ms}); session 0 present ${check.sessionsPresent === 1}, ${check.distinct} messages`)
  const details = { sessions: set.sessions, messages: ctx.counts.restartMessages, queue: queued, startsMs: starts, stopsMs: stops, check }
  if (check.sessionsPresent !== 1 || !check.complete) throw Object.assign(new Error(`${ctx.kind}: after the restarts session 0 came back with session present ${check.sessionsPresent} and ${check.distinct} messages`), { details })
  return { metrics: { 'restart.ms': ms }, details }
}
