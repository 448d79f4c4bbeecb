// The load generator process. The harness starts it pinned to the other core
// (taskset -c 1) and drives it over the Node IPC channel: one request, one
// reply, each a load from loads/. It exits when the harness goes away.
import { closeIdle, countClosedIdle, openIdle } from './loads/idle-load.ts'
import { runFlow } from './loads/flow-load.ts'
import { runLatency } from './loads/latency-load.ts'
import { drainSessions, queueMessages, setupSessions } from './loads/session-load.ts'
import { storm, stormDisconnect } from './loads/storm-load.ts'
import { countSensors, startSensors, stopSensors } from './loads/sensor-load.ts'

/** The loads the harness can ask for, by name. */
export const LOADS = {
  openIdle,
  countClosedIdle,
  closeIdle,
  runFlow,
  runLatency,
  setupSessions,
  queueMessages,
  drainSessions,
  storm,
  stormDisconnect,
  startSensors,
  countSensors,
  stopSensors
}

/** A load's name. */
export type LoadName = keyof typeof LOADS

interface Request { id: number, name: LoadName, params: unknown }

if (process.send === undefined) {
  console.error('load-worker: start it through the benchmark harness (npm run bench); it needs the IPC channel')
  process.exit(2)
}
process.on('disconnect', () => process.exit(0))
process.on('message', (message: Request) => {
  const load = LOADS[message.name] as (params: unknown) => unknown
  Promise.resolve()
    .then(() => load(message.params))
    .then(
      (result) => process.send?.({ id: message.id, result }),
      (err: unknown) => process.send?.({ id: message.id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) })
    )
})
process.send({ ready: true })
