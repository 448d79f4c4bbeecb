// What a SIGHUP reload does to sessions that are already connected (issue 14),
// on the built bundle as users run it, with real clients on real sockets:
// removing a user from a group takes the group's rights away from the live
// session at once (delivery, publish, subscribe), and deleted users, changed
// passwords and revoked certificates close their live sessions (DISCONNECT
// 0x87 for v5) unless auth.closeRevokedSessions is false.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFileSync } from 'node:child_process'
import { readFile, rm, writeFile, chmod } from 'node:fs/promises'
import { join } from 'node:path'
import type { MqttClient } from 'mqtt'
import { connectClient, collectTopics } from '../auth/mqtt-connect.ts'
import { makeTestPki, type TestPki } from '../auth/test-pki.ts'
import { hashPassword } from '../../src/auth/password-hash.ts'
import { buildBundle } from '../helpers/built-bundle.ts'
import { startBrokerProcess, type BrokerProcessHandle } from '../helpers/broker-process.ts'

let dir: string
let bundle: string
let pki: TestPki
const clients: MqttClient[] = []

test.before(async () => {
  // The bundle of this tree, built now: a stale dist/ must not pass for the fix.
  const built = await buildBundle()
  dir = built.dir
  bundle = built.main
  pki = await makeTestPki(dir)
})
test.after.each(() => { for (const c of clients.splice(0)) c.end(true) })
test.after(async () => { await rm(dir, { recursive: true, force: true }) })

async function writePasswordFile (path: string, users: Record<string, string>): Promise<void> {
  const lines: string[] = []
  for (const [u, p] of Object.entries(users)) lines.push(`${u}:${await hashPassword(Buffer.from(p), { N: 1024 })}`)
  await writeFile(path, lines.join('\n') + '\n', { mode: 0o600 })
  await chmod(path, 0o600)
}

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }
async function waitUntil (what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const t0 = Date.now()
  while (!check()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await sleep(20)
  }
}
/** SIGHUP, then waits for the n-th "config reloaded" line. */
async function sighup (b: BrokerProcessHandle): Promise<void> {
  const count = (): number => b.stderr().split('config reloaded').length - 1
  const before = count()
  process.kill(b.pid, 'SIGHUP')
  await waitUntil('config reloaded', () => count() > before)
}
async function login (port: number, user: string, password: string, extra: Record<string, unknown> = {}): Promise<MqttClient> {
  const c = await connectClient(`mqtt://127.0.0.1:${port}`, { username: user, password, protocolVersion: 5, ...extra })
  clients.push(c)
  return c
}
async function subackCode (c: MqttClient, filter: string): Promise<number> {
  try {
    const r = await c.subscribeAsync(filter, { qos: 1 })
    return r[0].qos
  } catch (err) {
    return (err as { packet?: { granted?: number[] } }).packet?.granted?.[0] ?? -1
  }
}
async function pubackCode (c: MqttClient, topic: string): Promise<number> {
  try {
    const r = await c.publishAsync(topic, 'x', { qos: 1 })
    return (r as { reasonCode?: number } | undefined)?.reasonCode ?? 0
  } catch (err) {
    return (err as { code?: number }).code ?? -1
  }
}

test('removing a user from a group (ACL ops: [] + SIGHUP) stops delivery, publish and new SUBSCRIBE on the live session', async () => {
  const pw = join(dir, 'passwd-groups')
  await writePasswordFile(pw, { carol: 'carol-pass', dave: 'dave-pass' })
  const acl = join(dir, 'acl-groups.yaml')
  const aclText = (ops: string): string => `groups: { ops: ${ops} }\nrules:\n  - { group: ops, allow: readwrite, topic: "#" }\n  - { user: dave, allow: readwrite, topic: "#" }\n`
  await writeFile(acl, aclText('[carol]'))
  const b = await startBrokerProcess({ bundle, config: `auth: { passwordFile: ${pw}, aclFile: ${acl}, lockout: { enabled: false } }\nlisteners: [ { name: lan, type: tcp, host: 127.0.0.1, port: 0, allowAnonymous: false } ]\n` })
  try {
    const carol = await login(b.port, 'carol', 'carol-pass')
    const dave = await login(b.port, 'dave', 'dave-pass')
    const carolGot = collectTopics(carol)
    const daveGot = collectTopics(dave)
    await carol.subscribeAsync('#', { qos: 1 })
    await dave.subscribeAsync('#', { qos: 1 })
    await dave.publishAsync('site/before', 'x', { qos: 1 })
    await waitUntil('carol gets site/before', () => carolGot.includes('site/before'))
    assert.is(await pubackCode(carol, 'cmd/before'), 0, 'carol may publish while in ops')

    await writeFile(acl, aclText('[]'))
    await sighup(b)

    await dave.publishAsync('site/after', 'x', { qos: 1 })
    await dave.publishAsync('sentinel', 'x', { qos: 1 })
    await waitUntil('dave gets the sentinel', () => daveGot.includes('sentinel'))
    await sleep(300)
    assert.not.ok(carolGot.includes('site/after'), `carol still receives after leaving ops: ${carolGot.join(', ')}`)
    assert.not.ok(carolGot.includes('sentinel'))
    daveGot.length = 0
    assert.is(await pubackCode(carol, 'cmd/door'), 0x87, 'carol may no longer publish to cmd/...')
    await dave.publishAsync('sentinel2', 'x', { qos: 1 })
    await waitUntil('dave gets sentinel2', () => daveGot.includes('sentinel2'))
    assert.not.ok(daveGot.includes('cmd/door'), 'the refused publish reached nobody')
    assert.is(await subackCode(carol, 'other/#'), 0x87, 'a new SUBSCRIBE is refused')
    assert.ok(carol.connected, 'a group change keeps the session (only its rights change)')
  } finally {
    await b.stop()
  }
})

/** Resolves with the reason code of the server's DISCONNECT once the client is closed (-1: closed without one; -3: still open after 10 s). */
function disconnectReason (c: MqttClient): Promise<number> {
  let code = -1
  c.on('disconnect', (packet) => { code = packet.reasonCode ?? 0 })
  return new Promise((resolve) => {
    const timer = setTimeout(() => { resolve(-3) }, 10_000)
    c.once('close', () => { clearTimeout(timer); resolve(code) })
  })
}
const runBundle = (...args: string[]): string => execFileSync(process.execPath, [bundle, ...args], { encoding: 'utf8', input: 'new-pass\n', stdio: ['pipe', 'pipe', 'pipe'] })

test('edgemq passwd -D and a changed password close the live sessions at reload (v5 DISCONNECT 0x87, 3.1.1 closed); others stay', async () => {
  const pw = join(dir, 'passwd-revoke')
  await writePasswordFile(pw, { erin: 'erin-pass', frank: 'frank-pass', gina: 'gina-pass', hugo: 'hugo-pass' })
  const b = await startBrokerProcess({ bundle, config: `auth: { passwordFile: ${pw}, lockout: { enabled: false } }\nacl: { rules: [ { allow: readwrite, topic: "#" } ] }\nlisteners: [ { name: lan, type: tcp, host: 127.0.0.1, port: 0, allowAnonymous: false } ]\n` })
  try {
    const erin = await login(b.port, 'erin', 'erin-pass')
    const erin311 = await login(b.port, 'erin', 'erin-pass', { protocolVersion: 4 })
    const frank = await login(b.port, 'frank', 'frank-pass')
    const gina = await login(b.port, 'gina', 'gina-pass')
    const erinGone = disconnectReason(erin)
    const erin311Gone = disconnectReason(erin311)
    const frankGone = disconnectReason(frank)
    runBundle('passwd', '-D', pw, 'erin')
    runBundle('passwd', '--stdin', pw, 'frank')
    await sighup(b)
    assert.is(await erinGone, 0x87, 'deleted user: DISCONNECT 0x87')
    assert.is(await erin311Gone, -1, '3.1.1 has no DISCONNECT from the server: the connection closes')
    assert.is(await frankGone, 0x87, 'changed password: DISCONNECT 0x87')
    await sleep(200)
    assert.ok(gina.connected, 'an unchanged user keeps the session')
    assert.match(b.stderr(), /session closed: credential revoked .*user=erin .*why=user-deleted/)
    assert.match(b.stderr(), /session closed: credential revoked .*user=frank .*why=password-changed/)
    await login(b.port, 'frank', 'new-pass') // the new password works
  } finally {
    await b.stop()
  }
})

test('the will of a session closed for revocation is not published (deleted user, changed password, v5 and 3.1.1, delayed will); another client\'s will still is', async () => {
  const pw = join(dir, 'passwd-will')
  await writePasswordFile(pw, { kim: 'kim-pass', lea: 'lea-pass', max: 'max-pass', obs: 'obs-pass' })
  const b = await startBrokerProcess({ bundle, config: `auth: { passwordFile: ${pw}, lockout: { enabled: false } }\nacl: { rules: [ { allow: readwrite, topic: "#" } ] }\nlisteners: [ { name: lan, type: tcp, host: 127.0.0.1, port: 0, allowAnonymous: false } ]\n` })
  try {
    const obs = await login(b.port, 'obs', 'obs-pass')
    const got = collectTopics(obs)
    await obs.subscribeAsync('will/#', { qos: 1 })
    const will = (topic: string, properties?: Record<string, unknown>): Record<string, unknown> => ({ will: { topic, payload: Buffer.from('gone'), qos: 1, retain: false, properties } })
    const kim = await login(b.port, 'kim', 'kim-pass', will('will/kim'))
    const kim311 = await login(b.port, 'kim', 'kim-pass', { protocolVersion: 4, ...will('will/kim311') })
    // a delayed will (MQTT 5.0 Will Delay Interval) of a persistent session: published by a timer after the close
    const leaDelayed = await login(b.port, 'lea', 'lea-pass', { clientId: 'lea-delayed', clean: false, properties: { sessionExpiryInterval: 60 }, ...will('will/lea-delayed', { willDelayInterval: 1 }) })
    const kimGone = disconnectReason(kim)
    const kim311Gone = disconnectReason(kim311)
    const leaGone = disconnectReason(leaDelayed)
    runBundle('passwd', '-D', pw, 'kim')
    runBundle('passwd', '--stdin', pw, 'lea')
    await sighup(b)
    assert.is(await kimGone, 0x87)
    assert.is(await kim311Gone, -1)
    assert.is(await leaGone, 0x87)
    // control: a client that is not revoked and dies without DISCONNECT has its will published
    const max = await login(b.port, 'max', 'max-pass', will('will/max'))
    ;(max as unknown as { stream: { destroy: () => void } }).stream.destroy()
    await waitUntil('max\'s will', () => got.includes('will/max'))
    await sleep(2_000) // past lea's will delay
    assert.equal(got.filter((t) => t !== 'will/max'), [], `wills of revoked sessions published: ${got.join(', ')}`)
    assert.match(b.stderr(), /will dropped: credential revoked .*user=kim .*topic=will\/kim/)
    assert.match(b.stderr(), /will dropped: credential revoked .*user=lea .*topic=will\/lea-delayed/)
  } finally {
    await b.stop()
  }
})

test('a delayed will is checked against the ACL in force when it fires: its user left the group meanwhile, it is not published', async () => {
  const pw = join(dir, 'passwd-will-acl')
  await writePasswordFile(pw, { pia: 'pia-pass', obs: 'obs-pass' })
  const acl = join(dir, 'acl-will.yaml')
  const aclText = (ops: string): string => `groups: { ops: ${ops} }\nrules:\n  - { group: ops, allow: readwrite, topic: "will/#" }\n  - { user: obs, allow: read, topic: "#" }\n`
  await writeFile(acl, aclText('[pia]'))
  const b = await startBrokerProcess({ bundle, config: `auth: { passwordFile: ${pw}, aclFile: ${acl}, lockout: { enabled: false } }\nlisteners: [ { name: lan, type: tcp, host: 127.0.0.1, port: 0, allowAnonymous: false } ]\n` })
  try {
    const obs = await login(b.port, 'obs', 'obs-pass')
    const got = collectTopics(obs)
    await obs.subscribeAsync('will/#', { qos: 1 })
    const pia = await login(b.port, 'pia', 'pia-pass', { clientId: 'pia-1', clean: false, properties: { sessionExpiryInterval: 60 }, will: { topic: 'will/pia', payload: Buffer.from('gone'), qos: 1, retain: false, properties: { willDelayInterval: 2 } } })
    ;(pia as unknown as { stream: { destroy: () => void } }).stream.destroy()
    await writeFile(acl, aclText('[]'))
    await sighup(b)
    await sleep(3_000) // past the will delay
    assert.equal(got, [], 'the will was published with rights its user no longer has')
  } finally {
    await b.stop()
  }
})

test('auth.closeRevokedSessions: false keeps the session and logs it', async () => {
  const pw = join(dir, 'passwd-keep')
  await writePasswordFile(pw, { ivan: 'ivan-pass' })
  const b = await startBrokerProcess({ bundle, config: `auth: { passwordFile: ${pw}, closeRevokedSessions: false, lockout: { enabled: false } }\nacl: { rules: [ { allow: readwrite, topic: "#" } ] }\nlisteners: [ { name: lan, type: tcp, host: 127.0.0.1, port: 0, allowAnonymous: false } ]\n` })
  try {
    const ivan = await login(b.port, 'ivan', 'ivan-pass')
    runBundle('passwd', '-D', pw, 'ivan')
    await sighup(b)
    await sleep(300)
    assert.ok(ivan.connected)
    assert.match(b.stderr(), /session kept: credential revoked \(auth.closeRevokedSessions is false\) .*user=ivan .*why=user-deleted/)
  } finally {
    await b.stop()
  }
})

test('a certificate revoked by a new CRL (SIGHUP) closes its live session; a valid certificate stays', async () => {
  const tls = `cert: ${pki.server.cert}, key: ${pki.server.key}, ca: ${pki.ca}, crl: ${pki.crl}`
  const b = await startBrokerProcess({ bundle, config: `auth: { lockout: { enabled: false } }\nacl: { rules: [ { allow: readwrite, topic: "#" } ] }\nlisteners:\n  - { name: mtls, type: tls, host: 127.0.0.1, port: 0, ${tls}, requireCertificate: true, usernameFromCertificate: san }\n` })
  try {
    const tlsLogin = async (name: 'alice' | 'san'): Promise<MqttClient> => {
      const c = await connectClient(`mqtts://127.0.0.1:${b.port}`, { protocolVersion: 5, ca: await readFile(pki.ca), cert: await readFile(pki.client(name).cert), key: await readFile(pki.client(name).key), rejectUnauthorized: true })
      clients.push(c)
      return c
    }
    const alice = await tlsLogin('alice')
    const dev7 = await tlsLogin('san')
    const aliceGone = disconnectReason(alice)
    execFileSync('openssl', ['ca', '-config', join(pki.dir, 'ca.cnf'), '-revoke', pki.client('alice').cert], { cwd: pki.dir, stdio: 'pipe' })
    execFileSync('openssl', ['ca', '-config', join(pki.dir, 'ca.cnf'), '-gencrl', '-out', pki.crl], { cwd: pki.dir, stdio: 'pipe' })
    await sighup(b)
    assert.is(await aliceGone, 0x87)
    await sleep(200)
    assert.ok(dev7.connected, 'a certificate the CRL does not name keeps its session')
    assert.match(b.stderr(), /session closed: credential revoked .*user=alice-device .*why=certificate-revoked/)
    try {
      await tlsLogin('alice')
      assert.unreachable('the revoked certificate must not log in again')
    } catch (err) {
      assert.ok((err as { code?: number }).code !== undefined)
      assert.not.instance(err, assert.Assertion)
    }
  } finally {
    await b.stop()
  }
})

test.run()
