// The acceptance test of the durability requirement against the real broker
// (`edgemq start`, default sync mode): SIGKILL mid-stream, restart on the same
// data folder and port, every acknowledged QoS 1/2 message delivered as its QoS
// requires, to online and offline persistent subscribers, retained ones kept.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { rm } from 'node:fs/promises'
import { dirname } from 'node:path'
import { startBrokerProcess, type BrokerProcessHandle } from '../helpers/broker-process.ts'
import { runKill9Scenario } from '../persistence/kill9-scenario.ts'

const handles: BrokerProcessHandle[] = []
test.after(async () => {
  for (const h of handles) await h.kill('SIGKILL')
  for (const h of handles) await rm(dirname(h.configPath), { recursive: true, force: true })
})

test('kill -9 mid-stream loses no acknowledged QoS 1/2 message (default sync mode)', async () => {
  let current = await startBrokerProcess()
  handles.push(current)
  const { port, dataDir } = current
  assert.match(current.stderr(), /info persistence: store open .*sync=batch/,
    `the broker does not run on LevelPersistence in batch mode (wire src/persistence/level-store.ts into src/store.ts); stderr:\n${current.stderr()}`)
  await runKill9Scenario({
    port,
    kill: async () => { await current.kill('SIGKILL') },
    restart: async () => {
      current = await startBrokerProcess({ config: `listeners:\n  - { name: tcp, type: tcp, host: 127.0.0.1, port: ${port} }\npersistence:\n  path: ${JSON.stringify(dataDir)}\n` })
      handles.push(current)
    }
  }, { n: 800, id: 'e2e' })
})

test.run()
