// The CLI commands, run in-process with captured streams.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFile } from 'node:fs/promises'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { main } from '../../src/cli/run-cli.ts'

async function run (args: string[]): Promise<{ code: number, out: string, err: string }> {
  const stdout = new PassThrough(); const stderr = new PassThrough()
  let out = ''; let err = ''
  stdout.on('data', (d) => { out += d }); stderr.on('data', (d) => { err += d })
  const code = await main(args, { stdout, stderr, stdin: new PassThrough(), env: { ...process.env } })
  return { code, out, err }
}

let dir = ''
test.before(async () => { dir = await mkdtemp(join(tmpdir(), 'edgemq-cli-')) })
test.after(async () => { await rm(dir, { recursive: true, force: true }) })

test('--help lists every command; an unknown command says which exist', async () => {
  const help = await run(['--help'])
  assert.is(help.code, 0)
  for (const c of ['start', 'check', 'config', 'boards', 'version', 'ctl']) assert.match(help.out, new RegExp(`^  ${c} `, 'm'))
  const bad = await run(['strat'])
  assert.is(bad.code, 2)
  assert.match(bad.err, /unknown command "strat": use one of start, check/)
})

test('every command answers --help with its usage and exit 0', async () => {
  for (const c of ['start', 'check', 'config', 'boards', 'version', 'ctl']) {
    const r = await run([c, '--help'])
    assert.is(r.code, 0, c)
    assert.match(r.out, /usage: edgemq/, c)
  }
})

test('check: exit 0 on a good config, exit 1 with every problem on a bad one', async () => {
  const good = join(dir, 'good.yaml')
  await writeFile(good, 'listeners:\n  - { name: a, port: 1883 }\n')
  const ok = await run(['check', '-c', good])
  assert.is(ok.code, 0, ok.err)
  assert.match(ok.out, /config ok/)
  const badPath = join(dir, 'bad.yaml')
  await writeFile(badPath, 'limits:\n  maxPacketSize: huge\n  keepaliveMax: -1\n')
  const bad = await run(['check', '-c', badPath])
  assert.is(bad.code, 1)
  assert.match(bad.err, new RegExp(`limits\\.maxPacketSize must be a size .*: got "huge" \\(${badPath.replace(/[/.]/g, '\\$&')}:2\\)`))
  assert.match(bad.err, /limits\.keepaliveMax must be >= 0 s: got -1 \(.*:3\)/)
})

test('check: a missing file is a clear error', async () => {
  const r = await run(['check', '-c', join(dir, 'nope.yaml')])
  assert.is(r.code, 1)
  assert.match(r.err, /cannot read config file .*nope\.yaml/)
})

test('config: shows each value with the layer it came from', async () => {
  const path = join(dir, 'site.yaml')
  await writeFile(path, 'limits:\n  maxConnections: 5\n')
  const r = await run(['config', '-c', path, '--board', 'rpi-zero-2w', '--data', '/srv/x'])
  assert.is(r.code, 0, r.err)
  assert.match(r.out, /^limits\.maxConnections = 5 connections +# file .*site\.yaml:2$/m)
  assert.match(r.out, /^limits\.maxPacketSize = 64KB +# board rpi-zero-2w$/m)
  assert.match(r.out, /^persistence\.path = "\/srv\/x" +# flag --data$/m)
  assert.match(r.out, /^limits\.connectTimeout = 10s +# default$/m)
})

test('config --explain prints the option table', async () => {
  const r = await run(['config', '--explain'])
  assert.is(r.code, 0)
  assert.match(r.out, /^\| `limits\.maxPacketSize` \| size \| `"256KB"` \| bytes \| live \|/m)
})

test('boards lists every profile and marks the detected one', async () => {
  const r = await run(['boards'])
  assert.is(r.code, 0)
  for (const b of ['rpi-zero-2w', 'rpi-3b-plus', 'rpi-4b', 'rpi-5', 'cm4', 'generic-arm64', 'generic-x64', 'generic']) assert.match(r.out, new RegExp(`\\b${b}\\b`))
  assert.match(r.out, /\* detected: /)
})

test('boards has column headers and shows the memory cap the README board table shows (issue 15)', async () => {
  const r = await run(['boards'])
  const lines = r.out.split('\n')
  assert.match(lines[0], /^\s+board\s+arch\s+memory cap\s+heap\s+board RAM\s+description$/)
  const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8')
  const caps = /\| memory cap \(MiB\) \| \|(.*)\|/.exec(readme)![1].split('|').map((c) => c.trim())
  const names = /\| key \| default \|(.*)\|/.exec(readme)![1].split('|').map((c) => c.trim())
  names.forEach((name, i) => {
    const line = lines.find((l) => l.slice(2).startsWith(name + ' '))
    assert.ok(line !== undefined, name)
    assert.match(line!, new RegExp(`\\s${caps[i]} MiB\\s`), `${name}: cap ${caps[i]} MiB in: ${line!}`)
  })
})

test('bad flags are usage errors (exit 2)', async () => {
  const r = await run(['check', '--frobnicate'])
  assert.is(r.code, 2)
  assert.match(r.err, /Unknown option '--frobnicate'/)
})

test('ctl without a running broker says how to find it', async () => {
  const r = await run(['ctl', '--data', dir, 'stats'])
  assert.is(r.code, 1)
  assert.match(r.err, /cannot reach the broker on .*control\.sock/)
})

test.run()
