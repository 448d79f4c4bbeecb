// The built artefact: one bundle plus the LevelDB addon, run from a folder
// that has no node_modules.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn, spawnSync } from 'node:child_process'
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connectAsync } from 'mqtt'
import { REPO_ROOT } from '../helpers/broker-process.ts'

let dir = ''
let out = ''

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgemq-bundle-'))
  out = join(dir, 'dist')
  const built = spawnSync(process.execPath, [join(REPO_ROOT, 'build.mjs'), '--outdir', out], { encoding: 'utf8' })
  assert.is(built.status, 0, built.stderr)
  assert.match(built.stdout, /edgemq\.mjs \d+\.\d KiB/)
})

test.after(async () => { await rm(dir, { recursive: true, force: true }) })

test('the build writes one bundle, its source map and the addon for the three gateway arches', async () => {
  const files = await readdir(out)
  assert.ok(files.includes('edgemq.mjs') && files.includes('edgemq.mjs.map'), files.join(','))
  assert.equal((await readdir(join(out, 'prebuilds'))).sort(), ['linux-arm', 'linux-arm64', 'linux-x64'])
  assert.ok((await stat(join(out, 'edgemq.mjs'))).size < 2 * 1024 * 1024, 'bundle under 2 MiB')
})

test('the bundle runs from a folder without node_modules: version, check, and a pub/sub round trip', async () => {
  const env = { ...process.env, NODE_PATH: '' }
  const version = spawnSync(process.execPath, [join(out, 'edgemq.mjs'), 'version'], { cwd: dir, encoding: 'utf8', env })
  assert.is(version.status, 0, version.stderr)
  assert.match(version.stdout, /^edgemq 0\.\d+\.\d+ \(commit \w+\) board \S+/)

  const configPath = join(dir, 'site.yaml')
  await writeFile(configPath, `listeners:\n  - { name: local, type: tcp, host: 127.0.0.1, port: 0 }\npersistence: { path: ${join(dir, 'data')} }\n`)
  const check = spawnSync(process.execPath, [join(out, 'edgemq.mjs'), 'check', '-c', configPath], { cwd: dir, encoding: 'utf8', env })
  assert.is(check.status, 0, check.stderr)

  const child = spawn(process.execPath, [join(out, 'edgemq.mjs'), 'start', '-c', configPath], { cwd: dir, env, stdio: ['ignore', 'ignore', 'pipe'] })
  let log = ''
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line:\n${log}`)), 20_000)
      child.stderr.setEncoding('utf8')
      child.stderr.on('data', (d: string) => {
        log += d
        const m = /listening .* port=(\d+)/.exec(log)
        if (m !== null) { clearTimeout(timer); resolve(Number(m[1])) }
      })
      child.once('exit', (code) => reject(new Error(`exited ${code}:\n${log}`)))
    })
    const sub = await connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 })
    const pub = await connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, protocolVersion: 5 })
    const got = new Promise<string>((resolve) => sub.on('message', (_t, p) => resolve(p.toString())))
    await sub.subscribeAsync('bundle/#', { qos: 1 })
    await pub.publishAsync('bundle/x', 'from the bundle', { qos: 1 })
    assert.is(await got, 'from the bundle')
    await sub.endAsync(); await pub.endAsync()
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
    }
  }
  assert.match(log, /info broker: stopped/)
})

test.run()
