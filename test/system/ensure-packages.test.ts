// `npm test` on a fresh machine: the package check installs or stops at once with the command.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawnSync } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { REPO_ROOT } from '../helpers/broker-process.ts'

const script = join(REPO_ROOT, 'test/system/ensure-packages.mjs')
const dir = mkdtempSync(join(tmpdir(), 'edgemq-pkgs-'))
chmodSync(dir, 0o755)
const absent = join(dir, 'absent.json')
writeFileSync(absent, JSON.stringify({ packages: [{ name: 'edgemq-no-such-pkg', check: '/nonexistent/edgemq', why: 'a package no machine has' }] }))
chmodSync(absent, 0o644)

// The environment of the suite without its own EDGEMQ_NO_APT (a run of the suite with it set
// must still see what the script does without it); each test adds what it is about.
const { EDGEMQ_NO_APT: _suiteNoApt, ...BASE_ENV } = process.env
const run = (args: string[], env: Record<string, string>, asNobody = false): ReturnType<typeof spawnSync> => {
  const cmd = asNobody ? ['runuser', '-u', 'nobody', '--', process.execPath, script, ...args] : [process.execPath, script, ...args]
  return spawnSync(cmd[0], cmd.slice(1), { encoding: 'utf8', env: { ...BASE_ENV, ...env }, timeout: 20_000 })
}

test('every package in the list has a name, a file it provides and a reason', () => {
  const list = JSON.parse(readFileSync(join(REPO_ROOT, 'test/system/packages.json'), 'utf8')).packages as Array<Record<string, string>>
  assert.ok(list.length > 10)
  for (const p of list) {
    assert.match(p.name, /^[a-z0-9][a-z0-9+.-]+$/)
    assert.ok(p.check.startsWith('/'), `${p.name}: check must be an absolute path`)
    assert.ok(p.why.length > 20, `${p.name}: needs a reason`)
  }
})

test('.ci/run keeps no package list of its own', () => {
  const ci = readFileSync(join(REPO_ROOT, '.ci/run'), 'utf8')
  assert.not.match(ci, /apt-get install/)
  assert.match(ci, /npm test/)
})

test('as a non-root user, a missing package stops at once with the one command to run', () => {
  const r = run([], { EDGEMQ_SYSTEM_PACKAGES: absent }, true)
  assert.is(r.status, 1, String(r.stderr))
  assert.match(String(r.stderr), /edgemq-no-such-pkg: a package no machine has/)
  assert.match(String(r.stderr), /apt-get update && apt-get install -y --no-install-recommends edgemq-no-such-pkg/)
})

test('EDGEMQ_NO_APT=1 lists what is missing and installs nothing', () => {
  const r = run([], { EDGEMQ_SYSTEM_PACKAGES: absent, EDGEMQ_NO_APT: '1' })
  assert.is(r.status, 0)
  assert.match(String(r.stdout), /not installing/)
  assert.match(String(r.stdout), /edgemq-no-such-pkg/)
})

test('--check never installs: exit 1 with the command', () => {
  const r = run(['--check'], { EDGEMQ_SYSTEM_PACKAGES: absent })
  assert.is(r.status, 1)
  assert.match(String(r.stderr), /apt-get install -y --no-install-recommends edgemq-no-such-pkg/)
})

test('npm test as a non-root user with a package missing ends with a failed count, before any test runs', () => {
  const r = spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, join(REPO_ROOT, 'test/run.mjs'), 'test/system/no-such-dir'], { encoding: 'utf8', env: { ...BASE_ENV, EDGEMQ_SYSTEM_PACKAGES: absent }, timeout: 20_000 })
  assert.is(r.status, 1)
  assert.match(String(r.stderr), /apt-get install/)
  assert.match(r.stdout.trim().split('\n').at(-1) ?? '', /^0 passed, 1 failed$/)
  assert.not.match(r.stdout, /typecheck/)
})

test('with the real list on this machine nothing is missing (npm test installed it)', () => {
  const r = run(['--check'], {})
  assert.is(r.status, 0, String(r.stderr))
})

test.after(() => { rmSync(dir, { recursive: true, force: true }) })
test.run()
