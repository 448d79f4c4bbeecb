// The shared broker helpers start a real broker, report its ports and leave nothing behind.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { existsSync } from 'node:fs'
import { connect } from 'node:net'
import { requireTool, startBrokerInProcess, startBrokerProcess } from './broker-process.ts'

const canConnect = async (port: number): Promise<boolean> => await new Promise((resolve) => {
  const s = connect(port, '127.0.0.1', () => { s.destroy(); resolve(true) })
  s.once('error', () => resolve(false))
})

test('startBrokerProcess reports every listener port and stop() removes the process and temp dir', async () => {
  const b = await startBrokerProcess({ config: 'listeners:\n  - { name: one, type: tcp, port: 0 }\n  - { name: two, type: ws, port: 0 }\n' })
  try {
    assert.ok(b.ports.one > 0 && b.ports.two > 0)
    assert.is(b.port, b.ports.one)
    assert.ok(await canConnect(b.port))
    assert.ok(existsSync(b.dataDir))
    assert.match(b.stderr(), /listening listener=two/)
  } finally {
    await b.stop()
  }
  assert.not.ok(await canConnect(b.port))
  assert.not.ok(existsSync(b.configPath))
})

test('kill() returns null when the broker dies by a signal', async () => {
  const b = await startBrokerProcess()
  try {
    assert.is(await b.kill('SIGKILL'), null)
  } finally {
    await b.stop()
  }
})

test('startBrokerInProcess serves on a free port and cleans up', async () => {
  const b = await startBrokerInProcess()
  try {
    assert.ok(await canConnect(b.port))
  } finally {
    await b.stop()
  }
  assert.not.ok(existsSync(b.dataDir))
})

test('requireTool fails with an install hint for an absent binary', () => {
  assert.throws(() => requireTool('edgemq-no-such-tool', 'edgemq-no-such-pkg'), /install it with: apt-get install edgemq-no-such-pkg/)
  assert.ok(requireTool('sh', 'dash').endsWith('/sh'))
})

test.run()
