// The broker as a process: defaults, heap flags, reload on SIGHUP, clean stop.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFile, writeFile } from 'node:fs/promises'
import { connectAsync, type MqttClient } from 'mqtt'
import { Level } from 'level'
import { startBrokerProcess } from '../helpers/broker-process.ts'
import { waitUntil } from '../helpers/wait-until.ts'

async function roundTrip (port: number, topic = 'lifecycle/t'): Promise<string> {
  const sub = await connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 })
  const pub = await connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 })
  try {
    const got = new Promise<string>((resolve) => sub.on('message', (_t, p) => resolve(p.toString())))
    await sub.subscribeAsync(topic, { qos: 1 })
    await pub.publishAsync(topic, 'ping', { qos: 1 })
    return await got
  } finally {
    await sub.endAsync(); await pub.endAsync()
  }
}

test('with no listeners configured it listens on loopback only and serves pub/sub', async () => {
  const b = await startBrokerProcess({ config: 'logging: { level: info }\n', args: ['-p', '0'] })
  try {
    assert.match(b.stderr(), /listening listener=local type=tcp host=127\.0\.0\.1 /)
    assert.is(await roundTrip(b.port), 'ping')
  } finally { await b.stop() }
})

test('SIGTERM stops accepting, closes LevelDB cleanly and exits 0', async () => {
  const b = await startBrokerProcess()
  const client: MqttClient = await connectAsync(`mqtt://127.0.0.1:${b.port}`, { reconnectPeriod: 0 })
  const code = await b.kill('SIGTERM')
  assert.is(code, 0)
  assert.match(b.stderr(), /info broker: stopped/)
  // LevelDB's lock was released: the store opens again.
  const db = new Level(b.dataDir)
  await db.open()
  await db.close()
  client.end(true)
  await b.stop()
})

test('the launcher applies the board heap flags to the broker process', async () => {
  const b = await startBrokerProcess({ args: ['--board', 'rpi-zero-2w'], env: { EDGEMQ_NO_REEXEC: '0' } })
  try {
    const m = /heapLimitMiB=(\d+)/.exec(b.stderr())
    assert.ok(m !== null, b.stderr())
    // rpi-zero-2w: --max-old-space-size=64 --max-semi-space-size=1 → ~67 MiB (generic: ~280)
    assert.ok(Number(m[1]) < 100, `heap limit ${m[1]} MiB`)
    const listening = /listening .* pid=(\d+)/.exec(b.stderr())
    assert.ok(listening !== null && Number(listening[1]) !== b.pid, 'the broker runs in a re-executed child')
    const cmdline = await readFile(`/proc/${listening[1]}/cmdline`, 'utf8')
    assert.ok(cmdline.includes('--max-old-space-size=64') && cmdline.includes('--max-semi-space-size=1'), cmdline)
    assert.is(await roundTrip(b.port), 'ping')
  } finally { await b.stop() }
})

test('SIGHUP: a changed listener restarts, an unchanged one keeps its clients', async () => {
  const config = 'listeners:\n  - { name: a, type: tcp, host: 127.0.0.1, port: 0 }\n  - { name: b, type: tcp, host: 127.0.0.1, port: 0 }\n'
  const b = await startBrokerProcess({ config })
  try {
    const keep = await connectAsync(`mqtt://127.0.0.1:${b.ports.b}`, { reconnectPeriod: 0 })
    let closed = false
    keep.on('close', () => { closed = true })
    const text = (await readFile(b.configPath, 'utf8')).replace(/name: a\n(\s+)type: tcp\n(\s+)host: 127.0.0.1\n(\s+)port: 0/, 'name: a\n$1type: tcp\n$2host: 127.0.0.1\n$3port: 0\n$3path: /changed')
    // a tcp listener ignores path, but its settings changed: it restarts
    assert.is.not(text, await readFile(b.configPath, 'utf8'))
    await writeFile(b.configPath, text)
    process.kill(b.pid, 'SIGHUP')
    await waitUntil('reload', () => /config reloaded/.test(b.stderr()))
    await waitUntil('listener a again', () => (b.stderr().match(/listening listener=a /g) ?? []).length === 2)
    assert.is(closed, false, 'the client of the unchanged listener stayed connected')
    await keep.publishAsync('still/here', 'x', { qos: 1 })
    await keep.endAsync()
  } finally { await b.stop() }
})

test('SIGHUP with an invalid config changes nothing and logs every problem', async () => {
  const b = await startBrokerProcess()
  try {
    const original = await readFile(b.configPath, 'utf8')
    await writeFile(b.configPath, original + 'limits:\n  maxPacketSize: tiny\n')
    process.kill(b.pid, 'SIGHUP')
    await waitUntil('refusal', () => /reload refused, config unchanged/.test(b.stderr()))
    assert.match(b.stderr(), /limits\.maxPacketSize must be a size/)
    assert.is(await roundTrip(b.port), 'ping')
  } finally { await b.stop() }
})

test('SIGHUP that a part refuses (missing password file) changes nothing: listeners and clients stay', async () => {
  const config = 'listeners:\n  - { name: a, type: tcp, host: 127.0.0.1, port: 0 }\n'
  const b = await startBrokerProcess({ config })
  try {
    const keep = await connectAsync(`mqtt://127.0.0.1:${b.port}`, { reconnectPeriod: 0 })
    let closed = false
    keep.on('close', () => { closed = true })
    await writeFile(b.configPath, (await readFile(b.configPath, 'utf8')) + `auth:\n  passwordFile: ${b.dataDir}/no-such-passwd\n`)
    process.kill(b.pid, 'SIGHUP')
    await waitUntil('refusal', () => /reload refused, config unchanged/.test(b.stderr()))
    assert.match(b.stderr(), /no-such-passwd/)
    assert.is(closed, false)
    assert.is(await roundTrip(b.port), 'ping', 'anonymous loopback clients still get in: the old auth config stands')
    await keep.endAsync()
  } finally { await b.stop() }
})

test('a listener off loopback refuses anonymous clients by default', async () => {
  const b = await startBrokerProcess({ config: 'listeners:\n  - { name: lan, type: tcp, host: 0.0.0.0, port: 0 }\n' })
  try {
    const err = await connectAsync(`mqtt://127.0.0.1:${b.port}`, { reconnectPeriod: 0, connectTimeout: 5000 }).then(
      async (c) => { await c.endAsync(); return undefined },
      (e: Error) => e)
    assert.ok(err !== undefined, 'anonymous CONNECT was accepted on 0.0.0.0')
    assert.match(String(err?.message), /Not authorized|Connection refused/i)
  } finally { await b.stop() }
})

test('a config that cannot start (port taken) exits 1 with the reason and the fix', async () => {
  const first = await startBrokerProcess()
  try {
    const err = await startBrokerProcess({ config: `listeners:\n  - { name: clash, type: tcp, host: 127.0.0.1, port: ${first.port} }\n`, startTimeoutMs: 10_000 }).then(() => undefined, (e: Error) => e)
    assert.ok(err !== undefined)
    assert.match(String(err?.message), /exited with 1/)
    assert.match(String(err?.message), /cannot listen on 127\.0\.0\.1:\d+: .*another process uses this port/)
  } finally { await first.stop() }
})

test.run()
