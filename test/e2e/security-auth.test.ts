// Authentication on real sockets: passwords (edgemq and Mosquitto files),
// anonymous access per listener, identity strings, client-id binding
// (failure-modes row 7), reload without dropping clients.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFileSync } from 'node:child_process'
import { chmod, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { type IClientOptions, type MqttClient } from 'mqtt'
import { connectClient } from '../auth/mqtt-connect.ts'
import { startSecureBroker, tempDir, writePasswords, removeDir, configFrom, type SecureBroker } from '../auth/security-broker.ts'
import { attachSecurity } from '../../src/auth/attach-security.ts'
import { createBrokerHooks } from '../../src/broker-hooks.ts'
import { silentLogger } from '../../src/observability/logger.ts'
import { isEdgemqError, ERROR_CODES } from '../../src/errors.ts'

const clients: MqttClient[] = []
async function connect (b: SecureBroker, opts: IClientOptions = {}, listener?: string): Promise<MqttClient> {
  const c = await connectClient(`mqtt://127.0.0.1:${b.port(listener)}`, opts)
  clients.push(c)
  return c
}
/** The CONNACK code a refused CONNECT got (3.1.1 return code or v5 reason code). */
async function refusal (b: SecureBroker, opts: IClientOptions, listener?: string): Promise<number> {
  try {
    const c = await connect(b, opts, listener)
    c.end(true)
    return 0
  } catch (err) {
    return (err as { code?: number }).code ?? -1
  }
}
async function endAll (): Promise<void> {
  for (const c of clients.splice(0)) c.end(true)
}

let dir: string
let b: SecureBroker
test.before(async () => {
  dir = await tempDir()
  const pw = await writePasswords(dir, { alice: 'alice-pass', bob: 'bob-pass' })
  b = await startSecureBroker(`
auth: { passwordFile: ${pw}, lockout: { ipFailures: 1000 } }
listeners:
  - { name: lan, type: tcp, host: 127.0.0.1, port: 0, allowAnonymous: false }
  - { name: local, type: tcp, host: 127.0.0.1, port: 0 }
acl:
  rules:
    - { allow: readwrite, topic: "#" }
`, dir)
})
test.after(async () => { await endAll(); await b.stop(); if (process.env.SHOW_LOGS === '1') console.log(b.logs.join('\n')); await removeDir(dir) })
test.after.each(endAll)

test('right password connects; wrong password and unknown user get CONNACK 4 (3.1.1) / 0x86 (v5)', async () => {
  await connect(b, { username: 'alice', password: 'alice-pass' }, 'lan')
  assert.is(await refusal(b, { username: 'alice', password: 'wrong' }, 'lan'), 4)
  assert.is(await refusal(b, { username: 'mallory', password: 'alice-pass' }, 'lan'), 4)
  assert.is(await refusal(b, { username: 'alice' }, 'lan'), 4)
  assert.is(await refusal(b, { username: 'alice', password: 'wrong', protocolVersion: 5 }, 'lan'), 0x86)
  assert.match(b.logs.join('\n'), /warn auth: authentication failed ip=127\.0\.0\.1 user=mallory client=\S+ listener=lan reason=unknown-user/)
})

test('anonymous: refused where the listener says allowAnonymous: false (CONNACK 5 / 0x87), accepted on loopback by default', async () => {
  assert.is(await refusal(b, {}, 'lan'), 5)
  assert.is(await refusal(b, { protocolVersion: 5 }, 'lan'), 0x87)
  await connect(b, {}, 'local')
})

test('user names and client ids with + # / or control characters are refused', async () => {
  assert.is(await refusal(b, { username: 'ali+ce', password: 'x' }, 'lan'), 4)
  assert.is(await refusal(b, { username: 'a/b', password: 'x', protocolVersion: 5 }, 'lan'), 0x86)
  assert.is(await refusal(b, { username: 'alice', password: 'alice-pass', clientId: 'dev/1' }, 'lan'), 2)
  assert.is(await refusal(b, { username: 'alice', password: 'alice-pass', clientId: 'dev#', protocolVersion: 5 }, 'lan'), 0x85)
})

test('client-id binding: bob cannot take alice\'s client id; her session is not disturbed (row 7)', async () => {
  const alice = await connect(b, { username: 'alice', password: 'alice-pass', clientId: 'alice-dev', clean: false }, 'lan')
  let closed = false
  alice.on('close', () => { closed = true })
  assert.is(await refusal(b, { username: 'bob', password: 'bob-pass', clientId: 'alice-dev' }, 'lan'), 2)
  assert.is(await refusal(b, { clientId: 'alice-dev' }, 'local'), 2, 'anonymous either')
  // A failed password for the same id must not kick the live session (aedes #337).
  assert.is(await refusal(b, { username: 'alice', password: 'bad', clientId: 'alice-dev' }, 'lan'), 4)
  await new Promise((resolve) => setTimeout(resolve, 200))
  assert.not.ok(closed, 'alice is still connected')
  const got = new Promise<string>((resolve) => alice.once('message', (_t, p) => resolve(p.toString())))
  await alice.subscribeAsync('bind/t')
  const other = await connect(b, { username: 'bob', password: 'bob-pass' }, 'lan')
  await other.publishAsync('bind/t', 'still-here', { qos: 1 })
  assert.is(await got, 'still-here')
  // alice herself may take over her own id (the spec's takeover still works for the owner).
  await connect(b, { username: 'alice', password: 'alice-pass', clientId: 'alice-dev' }, 'lan')
})

test('reload swaps the password file; with auth.closeRevokedSessions false a changed password keeps its live session', async () => {
  const bob = await connect(b, { username: 'bob', password: 'bob-pass' }, 'lan')
  let closed = false
  bob.on('close', () => { closed = true })
  const pw = await writePasswords(dir, { alice: 'alice-pass', bob: 'bob-new' })
  await b.broker.reload(await configFrom(`auth: { passwordFile: ${pw}, closeRevokedSessions: false, lockout: { ipFailures: 1000 } }\nlisteners:\n  - { name: lan, type: tcp, host: 127.0.0.1, port: 0, allowAnonymous: false }\n  - { name: local, type: tcp, host: 127.0.0.1, port: 0 }\nacl:\n  rules:\n    - { allow: readwrite, topic: "#" }\n`, dir).then((c) => ({ ...c, listeners: b.broker.config.listeners })))
  assert.is(await refusal(b, { username: 'bob', password: 'bob-pass' }, 'lan'), 4)
  await connect(b, { username: 'bob', password: 'bob-new' }, 'lan')
  assert.not.ok(closed)
  assert.ok(bob.connected)
})

test('a reload with a broken password file changes nothing', async () => {
  const bad = join(dir, 'broken')
  await writeFile(bad, 'garbage-line\n', { mode: 0o600 })
  await chmod(bad, 0o600)
  try {
    await b.broker.reload({ ...b.broker.config, auth: { passwordFile: bad, lockout: { ipFailures: 1000 } } })
    assert.unreachable('reload should fail')
  } catch (err) {
    assert.match((err as Error).message, /broken:1: password line must be user:hash/)
  }
  await connect(b, { username: 'alice', password: 'alice-pass' }, 'lan')
})

test('a password file made by mosquitto_passwd works unchanged', async () => {
  const d = await tempDir()
  const file = join(d, 'mosq-passwd')
  execFileSync('mosquitto_passwd', ['-c', '-b', file, 'sensor1', 'mosq-pass'])
  await chmod(file, 0o600)
  const m = await startSecureBroker(`auth: { passwordFile: ${file} }\nlisteners: [ { name: lan, type: tcp, host: 127.0.0.1, port: 0, allowAnonymous: false } ]\n`, d)
  try {
    const ok = await connectClient(`mqtt://127.0.0.1:${m.port()}`, { username: 'sensor1', password: 'mosq-pass' })
    ok.end(true)
    try {
      await connectClient(`mqtt://127.0.0.1:${m.port()}`, { username: 'sensor1', password: 'nope' })
      assert.unreachable()
    } catch (err) { assert.is((err as { code?: number }).code, 4) }
  } finally { await m.stop(); await removeDir(d) }
})

test('a world-readable password file stops the start with a clear error', async () => {
  const d = await tempDir()
  const pw = await writePasswords(d, { a: 'b' })
  await chmod(pw, 0o644)
  try {
    const config = await configFrom(`auth: { passwordFile: ${pw} }\n`, d)
    // (attachSecurity directly: startBroker does not yet release its listeners when a part fails to attach)
    await attachSecurity({ hooks: createBrokerHooks(), config, logger: silentLogger, audit: false }).then(async (x) => { await x.close(); assert.unreachable('started') })
  } catch (err) {
    assert.ok(isEdgemqError(err, ERROR_CODES.AUTH_FILE_INSECURE), String(err))
    assert.match((err as Error).message, /chmod 600/)
  } finally { await removeDir(d) }
})

test.run()
