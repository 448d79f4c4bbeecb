// The floor baseline of the bench (test/bench/floor-broker.mjs) still does the
// drain's path: sessions survive its restart and every queued message arrives
// once. Its figures stand for "any Node + LevelDB broker", so a floor that lost
// or duplicated messages would make them mean nothing.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { BrokerProcess } from './broker-process.ts'
import { scenariosOf } from './broker-kinds.ts'
import { parseBenchArgs } from './bench-options.ts'
import { drainSessions, queueMessages, setupSessions } from './loads/session-load.ts'
import { freePort } from '../helpers/free-port.ts'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const SCRIPT = join(ROOT, 'test/bench/floor-broker.mjs')

test('floor: sessions survive a restart and each queued QoS 1 message arrives once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'floor-test-'))
  const port = await freePort()
  const launch = { label: 'floor', command: process.execPath, args: [SCRIPT, String(port), join(dir, 'data'), join(ROOT, 'boards/generic-x64.json')], cwd: ROOT, port, cores: '0', nofile: 4096 }
  let broker = await BrokerProcess.start(launch)
  try {
    const set = { port, sessions: 5, prefix: 'floor' }
    await setupSessions(set)
    await queueMessages({ ...set, messages: 200, payloadBytes: 16, inflight: 20 })
    const stopped = await broker.stop()
    assert.is(stopped.forced, false, 'floor exits on SIGTERM')
    broker = await BrokerProcess.start(launch)
    const drained = await drainSessions({ ...set, messages: 200, timeoutMs: 10_000, concurrency: 5 })
    assert.is(drained.sessionsPresent, 5)
    assert.is(drained.distinct, 200)
    assert.is(drained.duplicates, 0)
    assert.ok(drained.complete)
  } finally {
    broker.kill()
    rmSync(dir, { recursive: true, force: true })
  }
})

test('floor: a bad command line exits 2 with its usage', () => {
  const run = spawnSync(process.execPath, [SCRIPT, 'port'], { encoding: 'utf8' })
  assert.is(run.status, 2)
  assert.match(run.stderr, /usage: node test\/bench\/floor-broker\.mjs <port 1-65535> <data dir> <board\.json>/)
})

test('floor runs the drain and resume scenarios only; --brokers takes it', () => {
  assert.equal(scenariosOf('floor'), ['drain', 'resume'])
  assert.is(scenariosOf('edgemq'), undefined)
  assert.equal(parseBenchArgs(['--brokers', 'edgemq,mosquitto,floor']).brokers, ['edgemq', 'mosquitto', 'floor'])
})

test.run()
