// The PID a user sees is the broker: `node dist/edgemq.mjs start` killed with
// SIGKILL (docker, pm2, a shell, the OOM killer) leaves nothing running, and
// the next start gets the port and the store. Run on the built bundle, started
// as a user starts it (no EDGEMQ_NO_REEXEC: the launcher applies the board's
// heap flags).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { connect, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { REPO_ROOT } from '../helpers/broker-process.ts'

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))
const alive = (pid: number): boolean => { try { process.kill(pid, 0); return true } catch { return false } }
const canConnect = async (port: number): Promise<boolean> => await new Promise((resolve) => {
  const s = connect(port, '127.0.0.1', () => { s.destroy(); resolve(true) })
  s.on('error', () => resolve(false))
})

let dir = ''
const started: ChildProcess[] = []
const brokerPids: number[] = []

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgemq-oneproc-'))
  const built = spawnSync(process.execPath, [join(REPO_ROOT, 'build.mjs'), '--outdir', join(dir, 'dist'), '--arch', 'x64', '--quiet'], { cwd: REPO_ROOT, encoding: 'utf8' })
  assert.is(built.status, 0, built.stderr)
})

test.after(async () => {
  for (const c of started) c.kill('SIGKILL')
  for (const pid of brokerPids) if (alive(pid)) process.kill(pid, 'SIGKILL')
  await rm(dir, { recursive: true, force: true })
})

/** Starts the bundle as a user would and resolves to the visible PID, the broker's PID (from its log) and the port. */
async function startBundle (): Promise<{ child: ChildProcess, visible: number, broker: number, port: number, log: () => string }> {
  const env = { ...process.env }
  delete env.EDGEMQ_NO_REEXEC
  const child = spawn(process.execPath, [join(dir, 'dist/edgemq.mjs'), 'start', '-c', join(dir, 'edgemq.yaml'), '--board', 'rpi-zero-2w'], { cwd: dir, env, stdio: ['ignore', 'ignore', 'pipe'] })
  started.push(child)
  let log = ''
  child.stderr!.setEncoding('utf8')
  child.stderr!.on('data', (c: string) => { log += c })
  const deadline = Date.now() + 30_000
  for (;;) {
    const listening = /listening .*port=(\d+)/.exec(log)
    if (listening !== null) {
      // The broker is the visible process itself (exec) or its one child (Node 20's launcher).
      const children = readFileSync(`/proc/${child.pid!}/task/${child.pid!}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)
      const broker = children.length > 0 ? children[0] : child.pid!
      brokerPids.push(broker)
      return { child, visible: child.pid!, broker, port: Number(listening[1]), log: () => log }
    }
    assert.ok(Date.now() < deadline && child.exitCode === null, `the bundle did not start:\n${log}`)
    await sleep(50)
  }
}

test('kill -9 of the PID the user sees leaves no broker running; the next start gets the port and the store', async () => {
  // A fixed free port: the second start must be able to take the same one.
  const probe = await new Promise<number>((resolve) => { const s = createServer(); s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)) }) })
  await writeFile(join(dir, 'edgemq.yaml'), `listeners:\n  - { name: tcp, type: tcp, host: 127.0.0.1, port: ${probe} }\npersistence: { path: ${JSON.stringify(join(dir, 'data'))} }\n`)
  const first = await startBundle()
  assert.ok(await canConnect(first.port))
  process.kill(first.visible, 'SIGKILL')
  const until = Date.now() + 15_000
  while (alive(first.broker) && Date.now() < until) await sleep(50)
  assert.not.ok(alive(first.broker), `the broker (pid ${first.broker}) outlived its launcher (pid ${first.visible}):\n${first.log()}`)
  assert.not.ok(await canConnect(first.port), 'the port is still served')
  const second = await startBundle()
  assert.ok(await canConnect(second.port), `the second start is not serving:\n${second.log()}`)
  assert.not.match(second.log(), /moved aside|UNRECOVERABLE|LOCK/)
  // A SIGTERM of the visible PID stops the broker cleanly and exits 0.
  const code = await new Promise<number | null>((resolve) => { second.child.once('exit', (c) => resolve(c)); process.kill(second.visible, 'SIGTERM') })
  assert.is(code, 0, second.log())
  assert.not.ok(alive(second.broker))
})

/** Every descendant of `pid`, depth first. */
function descendants (pid: number): number[] {
  let kids: number[] = []
  try { kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number) } catch {}
  return kids.flatMap((k) => [k, ...descendants(k)])
}

test('kill -9 of `npm start` leaves no launcher and no broker running', async () => {
  const port = await new Promise<number>((resolve) => { const s = createServer(); s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)) }) })
  const config = join(dir, 'npm-start.yaml')
  await writeFile(config, `listeners:\n  - { name: tcp, type: tcp, host: 127.0.0.1, port: ${port} }\npersistence: { path: ${JSON.stringify(join(dir, 'npm-data'))} }\n`)
  const env = { ...process.env }
  delete env.EDGEMQ_NO_REEXEC
  const npm = spawn('npm', ['start', '--silent', '--', '-c', config, '--board', 'rpi-zero-2w'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] })
  started.push(npm)
  let log = ''
  npm.stderr!.setEncoding('utf8')
  npm.stderr!.on('data', (c: string) => { log += c })
  const deadline = Date.now() + 60_000
  while (!/listening /.test(log)) {
    assert.ok(Date.now() < deadline && npm.exitCode === null, `npm start did not start the broker:\n${log}`)
    await sleep(50)
  }
  const below = descendants(npm.pid!)
  brokerPids.push(...below)
  assert.ok(below.length >= 1, 'npm start runs the broker below npm')
  assert.ok(await canConnect(port))
  process.kill(npm.pid!, 'SIGKILL')
  const until = Date.now() + 15_000
  while (below.some(alive) && Date.now() < until) await sleep(100)
  assert.equal(below.filter(alive), [], `left running after kill -9 of npm (pid ${npm.pid!}):\n${log}`)
  assert.not.ok(await canConnect(port), 'the port is still served')
})

test.run()
