// aedes-persistence's own contract suite against LevelPersistence, in every
// sync mode. The suite is written for node:test, so it runs in a child
// `node --test` and this file asserts on its TAP summary.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const runner = fileURLToPath(new URL('./aedes-contract-runner.ts', import.meta.url))

function runSuite (mode: string): Promise<{ code: number | null, out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', runner], {
      env: { ...process.env, EDGEMQ_CONTRACT_SYNC: mode },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let out = ''
    child.stdout.on('data', (d) => { out += d })
    child.stderr.on('data', (d) => { out += d })
    child.on('close', (code) => resolve({ code, out }))
  })
}

function count (out: string, label: string): number {
  const m = out.match(new RegExp(`^# ${label} (\\d+)$`, 'm'))
  return m === null ? -1 : Number(m[1])
}

for (const mode of ['batch', 'always', 'never']) {
  test(`passes every test of aedes-persistence's contract suite with sync=${mode}`, async () => {
    const { code, out } = await runSuite(mode)
    const pass = count(out, 'pass')
    const fail = count(out, 'fail')
    const failed = out.split('\n').filter((l) => l.startsWith('not ok')).join('\n')
    assert.is(fail, 0, `contract failures:\n${failed}\n${out.slice(-3000)}`)
    assert.ok(pass >= 45, `expected the whole suite (48 tests) to run, got pass=${pass}\n${out.slice(-3000)}`)
    assert.is(code, 0, out.slice(-3000))
  })
}

test.run()
