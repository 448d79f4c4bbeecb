// Logins under a reconnect storm, on real sockets (issue 16, and issue 14's
// "a burst of wrong logins from many addresses refuses real users" and issue
// 15's "too many logins at once" code): the verification cache, the waiting
// room, its fairness and its refusal code.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { chmod, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { MqttClient, type IClientOptions } from 'mqtt'
import { connect as netConnect } from 'node:net'
import { connectClient } from '../auth/mqtt-connect.ts'
import { configFrom, removeDir, tempDir } from '../auth/security-broker.ts'
import { startBroker, type AttachPart, type EdgemqBroker } from '../../src/broker.ts'
import { securityPart } from '../../src/auth/security-part.ts'
import type { SecurityHandle } from '../../src/auth/attach-security.ts'
import { hashPassword } from '../../src/auth/password-hash.ts'
import { createLogger } from '../../src/observability/logger.ts'
import { waitUntil } from '../helpers/wait-until.ts'

interface Started { broker: EdgemqBroker, security: SecurityHandle, logs: string[], port: () => number, dir: string, pw: string }

async function writeFileOfHashes (path: string, users: Record<string, string>): Promise<void> {
  await writeFile(path, Object.entries(users).map(([u, h]) => `${u}:${h}`).join('\n') + '\n', { mode: 0o600 })
  await chmod(path, 0o600)
}

/** Starts the broker with the security part and keeps its handle (the cache and room counters). */
async function start (hashes: Record<string, string>, authYaml = '', listenerYaml = ''): Promise<Started> {
  const dir = await tempDir()
  const pw = join(dir, 'passwd')
  await writeFileOfHashes(pw, hashes)
  const yaml = `auth: { passwordFile: ${pw}, lockout: { ipFailures: 1000 }${authYaml} }
listeners:
  - { name: lan, type: tcp, host: 127.0.0.1, port: 0, allowAnonymous: false${listenerYaml} }
acl: { rules: [ { allow: readwrite, topic: "#" } ] }
`
  const config = await configFrom(yaml, dir)
  const logs: string[] = []
  let security: SecurityHandle | undefined
  const part: AttachPart = async (ctx) => {
    const h = await securityPart(ctx)
    security = h as SecurityHandle
    return h
  }
  const broker = await startBroker(config, createLogger({ level: 'debug', sink: (l) => { logs.push(l) } }), [part])
  return { broker, security: security!, logs, dir, pw, port: () => broker.addresses()[0].port }
}

async function stop (s: Started): Promise<void> {
  await s.broker.close()
  await removeDir(s.dir)
}

/** 0 when connected (and closed again), else the CONNACK code (or -2 closed, -3 timed out); `localAddress` picks the source address. */
async function login (s: Started, opts: IClientOptions & { localAddress?: string }, timeoutMs = 20_000): Promise<number> {
  try {
    const { localAddress, ...rest } = opts
    const c = localAddress === undefined
      ? await connectClient(`mqtt://127.0.0.1:${s.port()}`, rest, timeoutMs)
      : await settle(new MqttClient(() => netConnect({ host: '127.0.0.1', port: s.port(), localAddress }), { reconnectPeriod: 0, connectTimeout: timeoutMs, ...rest }), timeoutMs)
    c.end(true)
    return 0
  } catch (err) {
    return (err as { code?: number }).code ?? -1
  }
}

/** Settles a client built from a stream (MQTT.js passes no localAddress of its own). */
async function settle (c: MqttClient, timeoutMs: number): Promise<MqttClient> {
  return await new Promise((resolve, reject) => {
    const fail = (code: number): void => { clearTimeout(timer); c.end(true); reject(Object.assign(new Error(`refused ${code}`), { code })) }
    const timer = setTimeout(() => fail(-3), timeoutMs)
    c.once('connect', () => { clearTimeout(timer); c.on('error', () => {}); resolve(c) })
    c.once('error', (err: Error & { code?: number | string }) => { fail(typeof err.code === 'number' ? err.code : -1) })
    c.once('close', () => { fail(-2) })
  })
}


test('a reconnect with the same password costs no KDF run (cache hit); the cache holds no password', async () => {
  const s = await start({ alice: await hashPassword(Buffer.from('alice-pass'), { N: 1024 }) })
  try {
    const v = s.security.verifier
    assert.is(await login(s, { username: 'alice', password: 'alice-pass' }), 0)
    assert.is(v.stats.kdfRuns, 1)
    assert.is(v.cache.size, 1)
    for (let i = 0; i < 5; i++) assert.is(await login(s, { username: 'alice', password: 'alice-pass', protocolVersion: i % 2 === 0 ? 4 : 5 }), 0)
    assert.is(v.stats.kdfRuns, 1, 'five reconnects, no further KDF run')
    assert.is(v.cache.stats.hits, 5)
    // what is kept is a keyed digest: neither the password nor the stored hash
    const kept = [...(v.cache as unknown as { entries: Map<string, Buffer> }).entries.values()][0]
    assert.is(kept.length, 32)
    assert.not.ok(kept.includes(Buffer.from('alice-pass')))
  } finally { await stop(s) }
})

test('a cache hit after a password change is refused: the old password gets CONNACK 4 / 0x86 after the reload', async () => {
  const s = await start({ alice: await hashPassword(Buffer.from('old-pass'), { N: 1024 }), bob: await hashPassword(Buffer.from('bob-pass'), { N: 1024 }) })
  try {
    const v = s.security.verifier
    assert.is(await login(s, { username: 'alice', password: 'old-pass' }), 0)
    assert.is(await login(s, { username: 'bob', password: 'bob-pass' }), 0)
    assert.is(await login(s, { username: 'alice', password: 'old-pass' }), 0)
    assert.is(v.cache.stats.hits, 1, 'cached before the change')
    const text = (await import('node:fs/promises')).readFile
    const bobLine = (await text(s.pw, 'utf8')).split('\n').find((l) => l.startsWith('bob:'))!
    await writeFile(s.pw, `alice:${await hashPassword(Buffer.from('new-pass'), { N: 1024 })}\n${bobLine}\n`, { mode: 0o600 })
    await s.broker.reload(s.broker.config)
    assert.is(v.cache.size, 1, 'alice forgotten at the reload; bob (unchanged line) kept')
    assert.is(await login(s, { username: 'alice', password: 'old-pass' }), 4)
    assert.is(await login(s, { username: 'alice', password: 'old-pass', protocolVersion: 5 }), 0x86)
    assert.is(await login(s, { username: 'alice', password: 'new-pass' }), 0)
    const runs = v.stats.kdfRuns
    assert.is(await login(s, { username: 'bob', password: 'bob-pass' }), 0)
    assert.is(v.stats.kdfRuns, runs, 'bob still cached')
  } finally { await stop(s) }
})

test('a failed login never touches the cache: no fill, no eviction, no refresh, and each wrong guess still costs a KDF run', async () => {
  const s = await start({ alice: await hashPassword(Buffer.from('alice-pass'), { N: 1024 }), bob: await hashPassword(Buffer.from('bob-pass'), { N: 1024 }) })
  try {
    const v = s.security.verifier
    assert.is(await login(s, { username: 'alice', password: 'alice-pass' }), 0)
    const before = { ...v.cache.stats, size: v.cache.size, runs: v.stats.kdfRuns }
    for (let i = 0; i < 3; i++) assert.is(await login(s, { username: 'alice', password: `wrong-${i}` }), 4)
    assert.is(await login(s, { username: 'bob', password: 'wrong' }), 4)
    assert.is(await login(s, { username: 'nobody', password: 'alice-pass' }), 4)
    assert.is(v.cache.size, before.size)
    assert.is(v.cache.stats.fills, before.fills, 'no fill')
    assert.is(v.cache.stats.hits, before.hits, 'no hit')
    assert.is(v.stats.kdfRuns, before.runs + 5, 'every wrong guess was hashed')
    assert.is(s.logs.filter((l) => / warn auth: authentication failed /.test(l)).length, 5, 'every wrong guess counted toward the lockout')
    assert.is(await login(s, { username: 'alice', password: 'alice-pass' }), 0)
    assert.is(v.stats.kdfRuns, before.runs + 5, 'alice is still cached after the wrong guesses')
  } finally { await stop(s) }
})

test('a full waiting room refuses at once with 0x89 Server busy (v5) and 3 Server unavailable (3.1.1), not counted as a failure', async () => {
  // one slot, one place: a slow hash ($7$ PBKDF2, 1M iterations, about half a second) holds the slot
  const slow = async (pw: string): Promise<string> => {
    const { pbkdf2Sync, randomBytes } = await import('node:crypto')
    const salt = randomBytes(12)
    return `$7$1000000$${salt.toString('base64')}$${pbkdf2Sync(pw, salt, 1_000_000, 64, 'sha512').toString('base64')}`
  }
  const s = await start({ slow1: await slow('p1'), slow2: await slow('p2'), alice: await hashPassword(Buffer.from('alice-pass'), { N: 1024 }) },
    ', maxConcurrentVerifications: 1, maxQueuedVerifications: 1, verificationWait: 60s', '')
  try {
    const room = s.security.verifier.room
    const first = login(s, { username: 'slow1', password: 'p1' }, 60_000)
    await waitUntil('the slot taken', () => room.load.running === 1, 20_000, 5)
    const second = login(s, { username: 'slow2', password: 'p2' }, 60_000)
    await waitUntil('the place taken', () => room.load.waiting === 1, 20_000, 5)
    assert.is(await login(s, { username: 'alice', password: 'alice-pass', protocolVersion: 5 }), 0x89)
    assert.is(await login(s, { username: 'alice', password: 'alice-pass' }), 3)
    assert.is(room.stats.refusedFull, 2)
    assert.is(await first, 0)
    assert.is(await second, 0, 'the waiting login got in')
    assert.ok(s.logs.some((l) => /connection refused .*reason=busy/.test(l)), 'logged as busy')
    assert.not.ok(s.logs.some((l) => / warn auth: authentication failed /.test(l)), 'not a failure')
  } finally { await stop(s) }
})

test('ten concurrent logins from one address all get in (the third was refused "too many logins in progress" before)', async () => {
  const users: Record<string, string> = {}
  for (let i = 0; i < 10; i++) users[`dev${i}`] = await hashPassword(Buffer.from(`pw${i}`)) // default cost: the hashes overlap
  const s = await start(users)
  try {
    const codes = await Promise.all(Array.from({ length: 10 }, (_, i) => login(s, { username: `dev${i}`, password: `pw${i}` })))
    assert.equal(codes, Array(10).fill(0))
    assert.ok(s.security.verifier.room.stats.waited >= 1, 'some waited for a slot')
  } finally { await stop(s) }
})

test('one address may have as many logins waiting as its per-IP connection cap allows; the next is refused busy', async () => {
  const slow = await hashPassword(Buffer.from('pw'), { N: 65_536 }) // 64 MiB, slow enough to overlap
  const users: Record<string, string> = {}
  for (let i = 0; i < 4; i++) users[`dev${i}`] = slow
  const s = await start(users, ', maxConcurrentVerifications: 1', ', maxConnectionsPerIp: 3')
  try {
    // distinct passwords would all be wrong: the same hash line per user, each user its own login (no coalescing across users)
    const codes = await Promise.all(Array.from({ length: 4 }, (_, i) => login(s, { username: `dev${i}`, password: 'pw' })))
    assert.equal([...codes].sort(), [0, 0, 0, 3], JSON.stringify(codes))
    assert.is(s.security.verifier.room.stats.refusedPerIp, 1)
  } finally { await stop(s) }
})

test('30 addresses x 2 concurrent wrong logins do not refuse a real user in the middle (issue 14)', async () => {
  const s = await start({ alice: await hashPassword(Buffer.from('alice-pass')), admin: await hashPassword(Buffer.from('admin-pass')) })
  try {
    // the attack is under way: each address has failed once already (a cold start is plain round-robin,
    // where a real user waits one turn per attacking address: tested in test/auth/waiting-room.test.ts)
    await Promise.all(Array.from({ length: 30 }, async (_, i) => await login(s, { username: 'admin', password: `first-${i}`, localAddress: `127.0.1.${i + 1}` })))
    const attacks: Array<Promise<number>> = []
    for (let a = 1; a <= 30; a++) {
      for (let k = 0; k < 2; k++) attacks.push(login(s, { username: 'admin', password: `guess-${a}-${k}`, localAddress: `127.0.1.${a}` }))
    }
    const legit = login(s, { username: 'alice', password: 'alice-pass', localAddress: '127.0.0.1' })
    const more: Array<Promise<number>> = []
    for (let a = 1; a <= 30; a++) more.push(login(s, { username: 'admin', password: `guess2-${a}`, localAddress: `127.0.1.${a}` }))
    const legitCode = await legit
    if (legitCode !== 0) console.log(s.logs.filter((l) => /alice|127\.0\.0\.1/.test(l)).join("\n"))
    assert.is(legitCode, 0, "the real user got in")
    const codes = await Promise.all([...attacks, ...more])
    // never let in: 4 wrong password; 5 banned at CONNECT or -1/-2 closed at accept (auth.lockout.userFailures:
    // admin drew 20 failures, then each failing address is banned); 3 busy: an untrusted login that found no
    // slot within auth.verificationWait (they share the unreserved slot)
    assert.ok(codes.every((c) => [4, 5, 3, -1, -2].includes(c)), JSON.stringify(codes))
  } finally { await stop(s) }
})

test('trusted logins are served before untrusted ones and untrusted ones never hold the reserved slot', async () => {
  const s = await start({ alice: await hashPassword(Buffer.from('alice-pass'), { N: 65_536 }) }, ', maxConcurrentVerifications: 2, reservedVerifications: 1')
  try {
    // 127.0.1.9 fails once: from then on it is untrusted
    assert.is(await login(s, { username: 'alice', password: 'nope', localAddress: '127.0.1.9' }), 4)
    const room = s.security.verifier.room
    const bad = Array.from({ length: 4 }, (_, i) => login(s, { username: 'alice', password: `nope-${i}`, localAddress: '127.0.1.9' }))
    await waitUntil('the untrusted logins in the room', () => room.load.running + room.load.waiting === 4, 20_000, 5)
    assert.is(room.load.running, 1, 'untrusted logins hold at most slots - reserved')
    assert.is(await login(s, { username: 'alice', password: 'alice-pass', localAddress: '127.0.0.1' }), 0)
    // wrong passwords: 4, or 3 busy when one waited past auth.verificationWait behind the others (64 MiB hashes on one slot)
    const codes = await Promise.all(bad)
    assert.ok(codes.every((c) => c === 4 || c === 3) && codes.includes(4), JSON.stringify(codes))
  } finally { await stop(s) }
})

test('a clean-session connect writes nothing to disk: its client-id binding is held in memory; a persistent session\'s is stored', async () => {
  const s = await start({ alice: await hashPassword(Buffer.from('a'), { N: 1024 }), bob: await hashPassword(Buffer.from('b'), { N: 1024 }) })
  let s2: EdgemqBroker | undefined
  try {
    for (let i = 0; i < 20; i++) assert.is(await login(s, { username: 'alice', password: 'a', clientId: `clean-${i}`, clean: true }), 0)
    assert.is(await login(s, { username: 'alice', password: 'a', clientId: 'v5-clean', protocolVersion: 5, clean: true }), 0)
    assert.is(await login(s, { username: 'alice', password: 'a', clientId: 'keeper', clean: false }), 0)
    assert.is(await login(s, { username: 'alice', password: 'a', clientId: 'v5-expiry', protocolVersion: 5, clean: true, properties: { sessionExpiryInterval: 3600 } }), 0)
    // live, the clean-session binding still protects the id
    assert.is(await login(s, { username: 'bob', password: 'b', clientId: 'clean-3' }), 2)
    await s.broker.close()
    const { ClassicLevel } = await import('classic-level')
    const db = new ClassicLevel(join(s.dir, 'data'), { keyEncoding: 'binary' })
    const bound: string[] = []
    for await (const key of db.keys()) { const k = Buffer.from(key).toString('latin1'); if (k.includes('cid!')) bound.push(k.slice(k.indexOf('cid!') + 4)) }
    await db.close()
    assert.equal(bound.sort(), ['keeper', 'v5-expiry'], 'only the persistent sessions\' bindings were written')
    // after a restart the persistent binding holds and the clean one is gone
    s2 = await startBroker(s.broker.config, createLogger({ level: 'error' }), [securityPart])
    const again: Started = { ...s, broker: s2, port: () => s2!.addresses()[0].port }
    assert.is(await login(again, { username: 'bob', password: 'b', clientId: 'keeper' }), 2)
    assert.is(await login(again, { username: 'bob', password: 'b', clientId: 'clean-3' }), 0)
  } finally {
    await s2?.close()
    await removeDir(s.dir)
  }
})

test.run()
