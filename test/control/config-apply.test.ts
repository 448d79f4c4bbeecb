// `edgemq ctl apply` on a real broker process: a config that closes the
// operator's own listener comes back by itself when nobody confirms; a probe
// failure (a bridge that was up and is not) rolls back at once; an invalid
// config changes nothing; a confirmed one is written over the config file; the
// history says what happened to each.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawnSync } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { connect, createServer } from 'node:net'
import { once } from 'node:events'
import { join, dirname } from 'node:path'
import { REPO_ROOT, startBrokerProcess, type BrokerProcessHandle } from '../helpers/broker-process.ts'
import { freePort, MosquittoProcess } from '../helpers/mosquitto-process.ts'

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))
const canConnect = async (port: number): Promise<boolean> => await new Promise((resolve) => {
  const s = connect(port, '127.0.0.1', () => { s.destroy(); resolve(true) })
  s.on('error', () => resolve(false))
})
const ctl = (b: BrokerProcessHandle, ...args: string[]): { status: number | null, out: string } => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src/cli/main.ts'), 'ctl', '--socket', join(b.dataDir, 'control.sock'), ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 90_000 })
  return { status: r.status, out: `${r.stdout}${r.stderr}` }
}
const listeners = (...ls: Array<[string, number]>): string => `listeners:\n${ls.map(([n, p]) => `  - { name: ${n}, type: tcp, host: 127.0.0.1, port: ${p} }`).join('\n')}\n`

test('a config that closes the operator\'s listener rolls back by itself when not confirmed', async () => {
  const ops = await freePort()
  const other = await freePort()
  const b = await startBrokerProcess({ config: listeners(['ops', ops], ['other', other]) })
  try {
    const original = await readFile(b.configPath, 'utf8')
    const next = join(dirname(b.configPath), 'next.yaml')
    await writeFile(next, listeners(['other', other]) + `persistence: { path: ${JSON.stringify(b.dataDir)} }\n`)
    const r = ctl(b, 'apply', next, '--confirm-within', '5s')
    assert.is(r.status, 0, r.out)
    assert.match(r.out, /confirm within 5 s/)
    assert.not.ok(await canConnect(ops), 'the applied config closed the ops listener')
    assert.ok(await canConnect(other))
    const until = Date.now() + 20_000
    while (!(await canConnect(ops)) && Date.now() < until) await sleep(200)
    assert.ok(await canConnect(ops), `the ops listener did not come back:\n${b.stderr()}`)
    assert.is(await readFile(b.configPath, 'utf8'), original, 'the config file was never changed')
    const h = ctl(b, 'history')
    assert.match(h.out, /#1 .* rolled back .*not confirmed in time/)
    assert.match(b.stderr(), /config apply rolled back/)
    // Too late to confirm.
    const late = ctl(b, 'confirm')
    assert.is.not(late.status, 0)
    assert.match(late.out, /nothing waits for a confirmation/)
  } finally { await b.stop() }
})

test('an invalid config is refused and changes nothing; a confirmed one is written over the config file', async () => {
  const a = await freePort()
  const c = await freePort()
  const b = await startBrokerProcess({ config: listeners(['a', a]) })
  try {
    const bad = join(dirname(b.configPath), 'bad.yaml')
    await writeFile(bad, 'listeners:\n  - { name: a, type: tcp, port: 70000 }\n')
    const refused = ctl(b, 'apply', bad)
    assert.is(refused.status, 1, refused.out)
    assert.match(refused.out, /refused: invalid, nothing changed/)
    assert.ok(await canConnect(a))
    const next = join(dirname(b.configPath), 'next.yaml')
    const text = listeners(['a', a], ['c', c]) + `persistence: { path: ${JSON.stringify(b.dataDir)} }\n`
    await writeFile(next, text)
    const applied = ctl(b, 'apply', next, '--confirm-within', '30s')
    assert.is(applied.status, 0, applied.out)
    assert.ok(await canConnect(c))
    const confirmed = ctl(b, 'confirm')
    assert.is(confirmed.status, 0, confirmed.out)
    assert.is(await readFile(b.configPath, 'utf8'), text)
    assert.ok((await readFile(`${b.configPath}.previous`, 'utf8')).includes(`port: ${a}`))
    await sleep(6_000) // no rollback after a confirm
    assert.ok(await canConnect(c))
    const h = ctl(b, 'history').out
    assert.match(h, /#1 .* refused /)
    assert.match(h, /#2 .* pending /)
    assert.match(h, /#2 .* confirmed /)
  } finally { await b.stop() }
})

test('a bridge that was connected and is not after the apply rolls back at once', async () => {
  const upstream = await MosquittoProcess.start()
  const a = await freePort()
  // A port held for the whole test that closes every connection: a port only
  // found free could be taken by a parallel test's broker, and the bridge
  // then connected to it (the apply was kept: seen once in a full run).
  const refuser = createServer((socket) => { socket.destroy() })
  refuser.listen(0, '127.0.0.1')
  await once(refuser, 'listening')
  const dead = (refuser.address() as { port: number }).port
  const bridge = (port: number): string => `bridges:\n  - { name: up, url: "mqtt://127.0.0.1:${port}", protocolVersion: 4, topics: [ { filter: "s/#", direction: out, qos: 1 } ], reconnect: { initialDelay: 200ms, maxDelay: 1s } }\n`
  const b = await startBrokerProcess({ config: listeners(['a', a]) + bridge(upstream.port) })
  try {
    const deadline = Date.now() + 15_000
    while (!/bridge connected/.test(b.stderr()) && Date.now() < deadline) await sleep(100)
    assert.match(b.stderr(), /bridge connected/, 'the bridge to the live upstream never connected: the rollback has nothing to restore')
    const next = join(dirname(b.configPath), 'next.yaml')
    await writeFile(next, listeners(['a', a]) + bridge(dead) + `persistence: { path: ${JSON.stringify(b.dataDir)} }\n`)
    const r = ctl(b, 'apply', next)
    assert.is(r.status, 1, r.out)
    assert.match(r.out, /rolled back: probe failed: bridge\(s\) connected before and not after: up/)
    const status = JSON.parse(ctl(b, 'bridges').out) as Array<{ name: string, connected: boolean, url?: string }>
    const back = Date.now() + 15_000
    let up = status[0]?.connected === true
    while (!up && Date.now() < back) { await sleep(250); up = (JSON.parse(ctl(b, 'bridges').out) as Array<{ connected: boolean }>)[0]?.connected === true }
    assert.ok(up, 'the bridge to the live upstream is back')
  } finally {
    await b.stop()
    await upstream.dispose()
    refuser.close()
  }
})

test.run()
