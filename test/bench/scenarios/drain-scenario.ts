// Scenario 5, drain (issue 11's shape): 500 persistent sessions (clean session
// off, one QoS 1 subscription each), 100 QoS 1 messages each queued while they
// are offline (50k), the broker's RSS with them queued (right after the
// enqueue, and again after 15 s of quiet), the broker stopped
// with SIGTERM and started again on the same data, then the time from the
// first reconnect until every message has been delivered once, and the
// broker's CPU for it.
import { survivesRestart } from '../broker-kinds.ts'
import { microsPerMessage, settledMemory, toMiB, type ScenarioOutcome, type ScenarioRun } from './scenario-context.ts'
import { sleep } from '../broker-process.ts'
import { CLOCK_TICKS_PER_SECOND } from '../proc-stats.ts'

/** How long the queue sits before the second RSS reading. */
const QUIET_MS = 15_000

/**
 * Reconnects in flight at once. Mosquitto listens with a backlog of 100: with
 * 200 at once its accept queue overflowed in some runs, the kernel dropped the
 * handshakes past it, and those clients' TCP retried them 1 s later. Its drain
 * then measured 1.09-1.13 s instead of 0.19-0.25 s (the kernel's ListenOverflows
 * counter rose by 39 in such a run and by 0 in the others), which is the SYN
 * retry timer, not the broker. The drain ratios of rounds 4-7 (3.2x down to
 * 1.68x) were against those slow runs. The harness warns of any such drop (run.ts).
 */
export const RECONNECT_CONCURRENCY = 100

/** Queue, measure, restart, reconnect, drain. Plain aedes keeps sessions in RAM only: no figure here (resume-scenario.ts has one). */
export const runDrainScenario: ScenarioRun = async (ctx): Promise<ScenarioOutcome> => {
  if (!survivesRestart(ctx.kind)) return { metrics: {}, details: { skipped: `${ctx.kind} keeps sessions in memory only: nothing survives a restart` } }
  const { broker, launch } = await ctx.startBroker({ persistence: true })
  const set = { port: broker.port, sessions: ctx.counts.drainSessions, prefix: 'drain' }
  const setup = await ctx.worker.call('setupSessions', set)
  const io0 = broker.io()
  // The offline enqueue rate: one publisher, 100 QoS 1 PUBLISHes unacknowledged at most.
  const queued = await ctx.worker.call('queueMessages', { ...set, messages: ctx.counts.drainMessages, payloadBytes: ctx.counts.payloadBytes, inflight: 100 })
  ctx.log(`${ctx.kind}: ${ctx.counts.drainMessages} QoS 1 messages queued for ${set.sessions} offline sessions at ${queued.perSecond} msg/s`)
  // RSS with everything queued, once it stops moving (the sessions are offline, the publisher gone).
  const whileQueued = await settledMemory(broker)
  // And once the broker has been quiet for a while, as during an outage: what it gave back (docs/limits.md, memory.releaseAfterBurst).
  await sleep(QUIET_MS)
  const quietQueued = broker.memory()
  const stopped = await broker.stop()
  if (stopped.forced) throw new Error(`${ctx.kind} did not exit within 60 s of SIGTERM\n${broker.logTail()}`)
  const restarted = await ctx.restartBroker(launch)
  const afterRestart = await settledMemory(restarted)
  const ticks = restarted.cpuTicks()
  const drained = await ctx.worker.call('drainSessions', { ...set, messages: ctx.counts.drainMessages, timeoutMs: ctx.counts.drainTimeoutMs, concurrency: RECONNECT_CONCURRENCY }, ctx.counts.drainTimeoutMs + 60_000)
  // Every thread of the broker, from the first reconnect to the last client gone (the harness's 200 ms wait and the disconnects included).
  const drainCpuSeconds = (restarted.cpuTicks() - ticks) / CLOCK_TICKS_PER_SECOND
  const memory = restarted.memory()
  const exit = await restarted.stop()
  ctx.log(`${ctx.kind}: RSS ${toMiB(whileQueued.rssKiB)} MiB with the queue, ${toMiB(quietQueued.rssKiB)} MiB ${QUIET_MS / 1000} s later; drained ${drained.distinct} of ${ctx.counts.drainMessages} in ${drained.ms} ms after a ${Math.round(restarted.startMs)} ms restart (${drained.sessionsPresent} sessions present, ${drained.duplicates} duplicates)`)
  const details = {
    sessions: set.sessions,
    messages: ctx.counts.drainMessages,
    setupMs: setup.ms,
    queue: queued,
    rssKiBWhileQueued: whileQueued.rssKiB,
    rssKiBQueuedQuiet: quietQueued.rssKiB,
    treeRssKiBWhileQueued: whileQueued.treeRssKiB,
    rssKiBAfterRestart: afterRestart.rssKiB,
    queueWriteBytes: stopped.io === undefined ? undefined : stopped.io.writeBytes - io0.writeBytes,
    stop: stopped,
    restartMs: Math.round(restarted.startMs),
    drain: drained,
    drainCpuSeconds,
    reconnectConcurrency: RECONNECT_CONCURRENCY,
    peakRssKiBAfterRestart: memory.hwmKiB,
    exit
  }
  if (!drained.complete) {
    const why = drained.sessionsPresent === 0 ? `; none of the ${set.sessions} sessions survived the restart (CONNACK session present = 0)` : ''
    throw Object.assign(new Error(`${ctx.kind} delivered ${drained.distinct} of ${ctx.counts.drainMessages} queued messages within ${Math.round(drained.ms / 1000)} s${why}`), { details })
  }
  return {
    metrics: {
      'drain.enqueueRate': queued.perSecond,
      'drain.rssQueued': toMiB(whileQueued.rssKiB),
      'drain.rssQueuedQuiet': toMiB(quietQueued.rssKiB),
      'drain.rssRestarted': toMiB(afterRestart.rssKiB),
      'drain.seconds': drained.ms / 1000,
      'drain.cpuPerMessage': microsPerMessage(drainCpuSeconds, ctx.counts.drainMessages),
      'drain.peakRss': toMiB(memory.hwmKiB),
      'drain.restartMs': Math.round(restarted.startMs)
    },
    details
  }
}
