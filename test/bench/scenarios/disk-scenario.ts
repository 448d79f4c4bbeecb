// Scenario 6, bytes written to disk per persisted QoS 1 message: write_bytes
// of /proc/PID/io (bytes the broker caused to go to storage) across queueing
// N QoS 1 messages for offline sessions. Two figures: up to 2 s after the
// last PUBACK (edgemq syncs its batch every second; Mosquitto has written
// nothing yet), and including the shutdown (Mosquitto saves its database on
// exit; the wrapper reads that from the counters of the reaped process).
import { sleep } from '../broker-process.ts'
import { survivesRestart } from '../broker-kinds.ts'
import type { ScenarioOutcome, ScenarioRun } from './scenario-context.ts'

/** Queues diskMessages QoS 1 messages for diskSessions offline sessions and divides the bytes written. */
export const runDiskScenario: ScenarioRun = async (ctx): Promise<ScenarioOutcome> => {
  if (!survivesRestart(ctx.kind)) return { metrics: {}, details: { skipped: `${ctx.kind} keeps messages in memory only: it writes nothing` } }
  const { broker } = await ctx.startBroker({ persistence: true })
  const messages = ctx.counts.diskMessages
  const set = { port: broker.port, sessions: ctx.counts.diskSessions, prefix: 'disk' }
  await ctx.worker.call('setupSessions', set)
  await sleep(1_500) // the sessions' own writes reach the counters before the baseline
  const before = broker.io()
  const queued = await ctx.worker.call('queueMessages', { ...set, messages, payloadBytes: ctx.counts.payloadBytes, inflight: 100 })
  await sleep(2_000)
  const running = broker.io()
  const exit = await broker.stop()
  if (exit.io === undefined) throw new Error(`no I/O counters from the wrapper of ${ctx.kind}: is /proc/PID/io readable?\n${broker.logTail()}`)
  const perMessageRunning = Math.round((running.writeBytes - before.writeBytes) / messages)
  const perMessage = Math.round((exit.io.writeBytes - before.writeBytes) / messages)
  ctx.log(`${ctx.kind}: ${perMessage} bytes written per persisted QoS 1 message (${perMessageRunning} before shutdown)`)
  return {
    metrics: { 'disk.bytesPerMsg': perMessage, 'disk.bytesPerMsgRunning': perMessageRunning },
    details: { messages, sessions: set.sessions, payloadBytes: ctx.counts.payloadBytes, queue: queued, writeBytesBefore: before.writeBytes, writeBytesRunning: running.writeBytes, writeBytesAtExit: exit.io.writeBytes, exit }
  }
}
