// Scenario, flash wear of a sensor day (issue 11): 100 sensors publish one
// QoS 1 reading a second each (clean sessions), one persistent subscriber is
// online and acknowledges everything. write_bytes of /proc/PID/io is read over
// a fixed window of steady load and scaled to a day (wear-projection.ts);
// Mosquitto's snapshot (written at shutdown here, every autosave_interval in
// service) is added once per interval. A window, not a day: see docs/bench.md.
import { performance } from 'node:perf_hooks'
import { sleep } from '../broker-process.ts'
import { survivesRestart } from '../broker-kinds.ts'
import { MOSQUITTO_AUTOSAVE_INTERVAL_S } from '../broker-configs.ts'
import { projectWearDay } from '../wear-projection.ts'
import type { ScenarioOutcome, ScenarioRun } from './scenario-context.ts'

/** Starts the sensors, measures the window, stops, projects a day. */
export const runWearScenario: ScenarioRun = async (ctx): Promise<ScenarioOutcome> => {
  if (!survivesRestart(ctx.kind)) return { metrics: {}, details: { skipped: `${ctx.kind} keeps messages in memory only: it writes nothing` } }
  const { broker } = await ctx.startBroker({ persistence: true })
  const { sensors, sensorRate: rate, sensorWarmupMs, sensorWindowMs } = ctx.counts
  await ctx.worker.call('startSensors', { port: broker.port, sensors, rate, payloadBytes: ctx.counts.payloadBytes, prefix: 'wear' })
  await sleep(sensorWarmupMs)
  const io0 = broker.io()
  const c0 = await ctx.worker.call('countSensors', undefined)
  const t0 = performance.now()
  await sleep(sensorWindowMs)
  const io1 = broker.io()
  const c1 = await ctx.worker.call('countSensors', undefined)
  const windowSeconds = (performance.now() - t0) / 1000
  const total = await ctx.worker.call('stopSensors', undefined)
  const ioStopped = broker.io()
  const exit = await broker.stop()
  if (exit.io === undefined) throw new Error(`no I/O counters from the wrapper of ${ctx.kind}: is /proc/PID/io readable?\n${broker.logTail()}`)
  const messages = c1.acked - c0.acked
  const mosquitto = ctx.kind === 'mosquitto'
  const day = projectWearDay({
    windowBytes: io1.writeBytes - io0.writeBytes,
    windowSeconds,
    messages,
    snapshotBytes: mosquitto ? exit.io.writeBytes - ioStopped.writeBytes : 0,
    snapshotIntervalS: mosquitto ? MOSQUITTO_AUTOSAVE_INTERVAL_S : 0
  })
  const details = {
    sensors, rate, windowSeconds, messages, load: total, day,
    writeBytes: { windowStart: io0.writeBytes, windowEnd: io1.writeBytes, stopped: ioStopped.writeBytes, atExit: exit.io.writeBytes },
    exit
  }
  if (total.acked !== total.sent || total.received < total.sent) throw Object.assign(new Error(`${ctx.kind}: ${total.sent} readings sent, ${total.acked} acknowledged, ${total.received} delivered`), { details })
  ctx.log(`${ctx.kind}: ${sensors} sensors at ${rate}/s: ${day.bytesPerMsg} B written per message over ${windowSeconds.toFixed(1)} s; a day: ${(day.bytesPerDay / 1048576).toFixed(1)} MiB`)
  return { metrics: { 'wear.bytesPerMsg': day.bytesPerMsg, 'wear.mibPerDay': Math.round(day.bytesPerDay / 1048576 * 10) / 10 }, details }
}
