// kill -9 in the middle of a QoS 1 / QoS 2 stream, against the broker as it
// ships (edgemq start in a child process, broker-process.ts), in both sync modes.
// The scenario and its assertions are in kill9-scenario.ts.
import { test } from 'uvu'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { killBroker, startBroker, type BrokerProcess } from './broker-process.ts'
import { runKill9Scenario } from './kill9-scenario.ts'

const dir = mkdtempSync(join(tmpdir(), 'edgemq-kill9-stream-'))
const brokers: BrokerProcess[] = []

test.after(async () => {
  for (const b of brokers) await killBroker(b)
  rmSync(dir, { recursive: true, force: true })
})

// sync=batch (the default) runs in test/e2e/persistence-kill9.test.ts with the same scenario
for (const sync of ['always']) {
  test(`every acknowledged QoS 1/2 message survives kill -9 mid-stream (sync=${sync})`, async () => {
    const db = join(dir, `db-${sync}`)
    let current = await startBroker(db, 0, sync)
    brokers.push(current)
    const port = current.port
    await runKill9Scenario({
      port,
      kill: async () => { await killBroker(current) },
      restart: async () => { current = await startBroker(db, port, sync); brokers.push(current) }
    }, { n: sync === "always" ? 400 : 800, id: sync }) // always: one fsync per group commit, slower on purpose
  })
}

test.run()
