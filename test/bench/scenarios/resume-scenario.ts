// Scenario 10, resume: issue 11's drain without the restart, so that plain
// aedes has a figure too. 500 persistent sessions (clean session off, one QoS 1
// subscription each) go away, 100 QoS 1 messages each are queued (50k), and
// all reconnect on the same, running broker and take everything. Twice: the
// second round is the figure (the broker has run this path once already, so
// what is timed is the work, not the JIT's first compile of it).
//
// Why it exists: the drain after a restart (drain-scenario.ts) is 8-9x
// Mosquitto for edgemq, against a target of 2x. This scenario puts plain aedes
// (in-memory persistence, no hooks, no disk) beside both on the same reconnect
// and delivery path, which tells how much of that is aedes's own path, which
// no store below it can take away (docs/persistence.md, round 9).
import { sleep } from '../broker-process.ts'
import { RECONNECT_CONCURRENCY } from './drain-scenario.ts'
import { CLOCK_TICKS_PER_SECOND } from '../proc-stats.ts'
import { microsPerMessage, settledMemory, toMiB, type ScenarioOutcome, type ScenarioRun } from './scenario-context.ts'

/** Rounds of queue-then-drain on one broker; the last is the figure. */
const ROUNDS = 2
/** Pause between the last PUBACK of the enqueue and the first reconnect: the publisher's close and any flush settle. */
const SETTLE_MS = 1_000

/** Queue, drain without a restart, twice; report the second drain. */
export const runResumeScenario: ScenarioRun = async (ctx): Promise<ScenarioOutcome> => {
  const { broker } = await ctx.startBroker({ persistence: true })
  const set = { port: broker.port, sessions: ctx.counts.drainSessions, prefix: 'resume' }
  await ctx.worker.call('setupSessions', set)
  const rounds: Array<Record<string, unknown>> = []
  let seconds = 0
  let cpuPerMessage = 0
  let rssQueuedKiB = 0
  for (let round = 1; round <= ROUNDS; round++) {
    const queued = await ctx.worker.call('queueMessages', { ...set, messages: ctx.counts.drainMessages, payloadBytes: ctx.counts.payloadBytes, inflight: 100 })
    await sleep(SETTLE_MS)
    // With the queue in place: plain aedes holds it in RAM, edgemq on disk, Mosquitto in RAM (written at exit)
    if (round === 1) rssQueuedKiB = (await settledMemory(broker)).rssKiB
    const ticks = broker.cpuTicks()
    const drained = await ctx.worker.call('drainSessions', { ...set, messages: ctx.counts.drainMessages, timeoutMs: ctx.counts.drainTimeoutMs, concurrency: RECONNECT_CONCURRENCY }, ctx.counts.drainTimeoutMs + 60_000)
    // Every thread of the broker, from the first reconnect to the last client gone, as in the drain.
    const cpuSeconds = (broker.cpuTicks() - ticks) / CLOCK_TICKS_PER_SECOND
    rounds.push({ round, queue: queued, drain: drained, cpuSeconds })
    if (!drained.complete) {
      throw Object.assign(new Error(`${ctx.kind} delivered ${drained.distinct} of ${ctx.counts.drainMessages} queued messages without a restart (round ${round}, ${drained.sessionsPresent} sessions present)`), { details: { rounds } })
    }
    ctx.log(`${ctx.kind}: resume round ${round}: drained ${drained.distinct} of ${ctx.counts.drainMessages} in ${drained.ms} ms, ${cpuSeconds.toFixed(2)} s of broker CPU (${drained.duplicates} duplicates)`)
    seconds = drained.ms / 1000
    cpuPerMessage = microsPerMessage(cpuSeconds, ctx.counts.drainMessages)
  }
  const exit = await broker.stop()
  return {
    metrics: {
      'resume.seconds': seconds,
      'resume.cpuPerMessage': cpuPerMessage,
      'resume.rssQueued': toMiB(rssQueuedKiB)
    },
    details: { sessions: set.sessions, messages: ctx.counts.drainMessages, reconnectConcurrency: RECONNECT_CONCURRENCY, rounds, exit }
  }
}
