// Crash tests of the persistence run the broker as it ships: `edgemq start`
// (src/cli/main.ts, every part, the queue bounds, the v5 shims and the hooks)
// in a child process via test/helpers/broker-process.ts, on a store path the
// test owns so a restart after kill -9 opens the same store. (Issue 11 removed
// the hand-made aedes + LevelPersistence composition root that stood in for it.)
import { startBrokerProcess, type BrokerProcessHandle } from '../helpers/broker-process.ts'

/** A broker child process and its port. */
export interface BrokerProcess { handle: BrokerProcessHandle, port: number, output: () => string }

/** Starts edgemq on `dbPath` (persistence.sync = `sync`) listening on 127.0.0.1:`port` (0 = any); `extraYaml` adds top-level config lines. */
export async function startBroker (dbPath: string, port: number, sync: string, extraYaml = ''): Promise<BrokerProcess> {
  const config = `listeners:\n  - { name: tcp, type: tcp, host: 127.0.0.1, port: ${port} }\npersistence: { path: ${JSON.stringify(dbPath)}, sync: ${sync} }\n${extraYaml}`
  const handle = await startBrokerProcess({ config })
  return { handle, port: handle.port, output: handle.stderr }
}

/** SIGKILLs the broker, waits for it to be gone and removes its config dir (the store stays). */
export async function killBroker (b: BrokerProcess): Promise<void> {
  await b.handle.kill('SIGKILL')
  await b.handle.stop()
}
