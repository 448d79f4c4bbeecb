// No raw stack traces for user errors (issue 15): `edgemq passwd` into a
// folder that does not exist (the README's first security command on a fresh
// machine) and `edgemq config | head` (EPIPE) printed Node stack traces. Every
// command run wrongly exits non-zero with one line that says the cause and a
// fix. Run as the built bundle, as users run it.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { buildBundle, runCli, type BuiltBundle } from '../helpers/built-bundle.ts'

let bundle: BuiltBundle
test.before(async () => { bundle = await buildBundle() })
test.after(async () => { await bundle.remove() })

function assertOneLine (run: { code: number | null, stderr: string }, fix: RegExp): void {
  assert.ok(run.code !== 0, `exit code ${String(run.code)}`)
  assert.not.match(run.stderr, /\n\s+at |node:internal|^\s*\^/m, `a stack trace:\n${run.stderr}`)
  const lines = run.stderr.trim().split('\n')
  assert.is(lines.length, 1, `one line:\n${run.stderr}`)
  assert.match(lines[0], fix)
}

test('edgemq passwd into a folder that does not exist: one line with mkdir -p', async () => {
  const run = await runCli(bundle.main, ['passwd', '--stdin', join(bundle.dir, 'no/such/dir/passwd'), 'alice'], { input: 'secret-pw\n' })
  assertOneLine(run, new RegExp(`^edgemq passwd: the folder ${join(bundle.dir, 'no/such/dir')} does not exist .*mkdir -p`))
})

test('edgemq passwd into a folder this user may not write: one line', async () => {
  const run = await runCli(bundle.main, ['passwd', '--stdin', '/proc/edgemq-passwd', 'alice'], { input: 'secret-pw\n' })
  assertOneLine(run, /^edgemq passwd: .*\/proc\/edgemq-passwd/)
})

test('edgemq config | head: the closed pipe is not an error', () => {
  for (const args of ['config --explain', 'config', 'config --json', 'boards', '--help']) {
    const r = spawnSync('sh', ['-c', `${process.execPath} ${bundle.main} ${args} | head -c 20 > /dev/null; echo "rc=\${PIPESTATUS:-x}"`], { encoding: 'utf8', env: { ...process.env, EDGEMQ_NO_REEXEC: '1' } })
    assert.is(r.stderr, '', `edgemq ${args} | head printed:\n${r.stderr}`)
  }
})

test('commands run wrongly: one line each, with the fix', async () => {
  const missing = join(bundle.dir, 'nope.yaml')
  const cases: Array<[string[], RegExp]> = [
    [['start', '-c', missing], /cannot read config file .*check the path given to -c/],
    [['audit', '-c', missing], /cannot read config file .*check the path given to -c/],
    [['config', '-c', missing], /cannot read config file .*check the path given to -c/],
    [['ctl', '-c', missing, 'stats'], /cannot read config file/],
    [['bans', 'list', '--data', join(bundle.dir, 'nodata')], /cannot reach the broker .*is the broker running/],
    [['throttle', 'get', '--data', join(bundle.dir, 'nodata')], /cannot reach the broker/],
    [['keygen', '--type', 'bad'], /--type must be secretbox, box or sign/],
    [['open'], /--key FILE is required/],
    [['nosuchcommand'], /unknown command "nosuchcommand": use one of/]
  ]
  for (const [args, fix] of cases) assertOneLine(await runCli(bundle.main, args), fix)
})

test.run()
