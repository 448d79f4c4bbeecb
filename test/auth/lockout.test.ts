import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Level } from 'level'
import { Lockout, type LockoutOptions, type BanStore } from '../../src/auth/lockout.ts'
import { createLogger, silentLogger } from '../../src/observability/logger.ts'

const OPTS: LockoutOptions = { enabled: true, window: 60_000, ipFailures: 3, userFailures: 5, banTime: 10_000, maxBanTime: 40_000, ignore: [], ipv6Prefix: 64 }

async function withDb (fn: (store: BanStore, reopen: () => Promise<BanStore>) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'edgemq-lock-'))
  let db = new Level<string, Buffer>(dir, { valueEncoding: 'buffer' })
  const wrap = (d: Level<string, Buffer>): BanStore => {
    const sub = d.sublevel<string, Buffer>('security', { valueEncoding: 'buffer' })
    return { put: async (k, v) => { await sub.put(k, Buffer.from(v)) }, del: async (k) => { await sub.del(k) }, iterator: (o) => sub.iterator(o) as AsyncIterable<[unknown, unknown]> }
  }
  try {
    await fn(wrap(db), async () => { await db.close(); db = new Level<string, Buffer>(dir, { valueEncoding: 'buffer' }); await db.open(); return wrap(db) })
  } finally { await db.close(); await rm(dir, { recursive: true, force: true }) }
}

test('N failures from one IP within the window ban it; fewer do not', () => {
  let t = 1_000_000
  const l = new Lockout(OPTS, { now: () => t, logger: silentLogger })
  assert.is(l.recordFailure('10.0.0.1', 'a'), undefined)
  assert.is(l.recordFailure('10.0.0.1', 'b'), undefined)
  t += 1000
  const ban = l.recordFailure('10.0.0.1', 'c')
  assert.ok(ban !== undefined)
  assert.is(ban?.until, t + 10_000)
  assert.ok(l.bannedUntil('10.0.0.1') !== undefined)
  assert.ok(l.bannedUntil('::ffff:10.0.0.1') !== undefined, 'the mapped form is the same IP')
  assert.is(l.bannedUntil('10.0.0.2'), undefined)
  t += 10_001
  assert.is(l.bannedUntil('10.0.0.1'), undefined, 'expired')
})

test('failures outside the sliding window are forgotten', () => {
  let t = 0
  const l = new Lockout(OPTS, { now: () => t, logger: silentLogger })
  l.recordFailure('10.0.0.1', undefined); t += 30_000
  l.recordFailure('10.0.0.1', undefined); t += 31_000 // the first is now 61 s old
  assert.is(l.recordFailure('10.0.0.1', undefined), undefined)
  assert.ok(l.recordFailure('10.0.0.1', undefined) !== undefined)
})

test('each repeat doubles the ban, capped at maxBanTime', () => {
  let t = 0
  const l = new Lockout(OPTS, { now: () => t, logger: silentLogger })
  const durations: number[] = []
  for (let round = 0; round < 5; round++) {
    let ban
    for (let i = 0; i < 3; i++) ban = l.recordFailure('10.9.9.9', undefined)
    assert.ok(ban !== undefined)
    durations.push(ban!.until - t)
    t = ban!.until + 1
  }
  assert.equal(durations, [10_000, 20_000, 40_000, 40_000, 40_000])
})

test('a user name under a spread-out attack bans each further failing IP at its first failure', () => {
  let t = 0
  const l = new Lockout({ ...OPTS, ipFailures: 100 }, { now: () => t, logger: silentLogger })
  for (let i = 0; i < 5; i++) assert.is(l.recordFailure(`10.1.0.${i}`, 'admin'), undefined)
  assert.ok(l.recordFailure('10.1.0.99', 'admin') !== undefined)
  assert.is(l.recordFailure('10.1.0.100', 'other-user'), undefined)
  t += 1
  assert.is(l.bannedUntil('10.1.0.1'), undefined, 'earlier IPs stay unbanned below their own threshold')
})

test('ignored ranges and a disabled lockout never ban', () => {
  const l = new Lockout({ ...OPTS, ignore: ['10.0.0.0/8'] }, { now: () => 0, logger: silentLogger })
  for (let i = 0; i < 10; i++) assert.is(l.recordFailure('10.0.0.1', 'x'), undefined)
  const off = new Lockout({ ...OPTS, enabled: false }, { now: () => 0, logger: silentLogger })
  for (let i = 0; i < 10; i++) assert.is(off.recordFailure('1.1.1.1', 'x'), undefined)
})

test('ban and unban log lines have the agreed Fail2Ban format', async () => {
  const lines: string[] = []
  const logger = createLogger({ component: 'auth', sink: (l) => lines.push(l), now: () => new Date('2026-01-01T00:00:00.000Z') })
  const l = new Lockout(OPTS, { now: () => Date.parse('2026-01-01T00:00:00.000Z'), logger })
  for (let i = 0; i < 3; i++) l.recordFailure('192.0.2.1', 'x')
  assert.is(lines[0], '2026-01-01T00:00:00.000Z warn auth: banned ip=192.0.2.1 until=2026-01-01T00:00:10.000Z failures=3')
  assert.ok(await l.unban('192.0.2.1', 'cli:root'))
  assert.is(lines[1], '2026-01-01T00:00:00.000Z info auth: unbanned ip=192.0.2.1 by=cli:root')
  assert.not.ok(await l.unban('192.0.2.1', 'cli:root'), 'not banned any more')
})

test('bans survive a restart through LevelDB; unban removes them from disk', async () => {
  await withDb(async (store, reopen) => {
    let t = Date.now()
    const a = new Lockout(OPTS, { now: () => t, logger: silentLogger, store })
    for (let i = 0; i < 3; i++) a.recordFailure('203.0.113.5', 'x')
    for (let i = 0; i < 3; i++) a.recordFailure('2001:db8::5', 'x')
    await a.flush() // the put is not awaited by recordFailure
    const store2 = await reopen()
    const b = new Lockout(OPTS, { now: () => t, logger: silentLogger, store: store2 })
    assert.is(await b.load(), 2)
    assert.ok(b.bannedUntil('203.0.113.5') !== undefined)
    assert.ok(b.bannedUntil('2001:db8:0::5') !== undefined)
    assert.ok(b.bannedUntil('2001:db8::abcd') !== undefined, 'the /64 is banned')
    await b.unban('203.0.113.5', 'test')
    const c = new Lockout(OPTS, { now: () => t, logger: silentLogger, store: await reopen() })
    assert.is(await c.load(), 1)
    t += 1
  })
})

test('a stored ban further ahead than maxBanTime (clock jumped back at boot) is clamped; a corrupt record is dropped', async () => {
  await withDb(async (store) => {
    await store.put('ban!198.51.100.1', JSON.stringify({ ip: '198.51.100.1', since: 0, until: 9e15, failures: 3, offences: 1 }))
    await store.put('ban!198.51.100.2', 'not json')
    const t = 1_000_000
    const l = new Lockout(OPTS, { now: () => t, logger: silentLogger, store })
    assert.is(await l.load(), 1)
    assert.is(l.bannedUntil('198.51.100.1')?.until, t + OPTS.maxBanTime)
  })
})

test('IPv6 addresses are counted and banned per /64: rotating inside the prefix does not help', () => {
  let t = 0
  const l = new Lockout(OPTS, { now: () => t, logger: silentLogger })
  l.recordFailure('2001:db8:1:2::1', 'x')
  l.recordFailure('2001:db8:1:2::2', 'x')
  const ban = l.recordFailure('2001:db8:1:2:ffff::3', 'x')
  assert.is(ban?.ip, '2001:db8:1:2::/64')
  assert.ok(l.bannedUntil('2001:db8:1:2:aaaa::9') !== undefined)
  assert.is(l.bannedUntil('2001:db8:1:3::1'), undefined)
  const per = new Lockout({ ...OPTS, ipv6Prefix: 128 }, { now: () => t, logger: silentLogger })
  for (let i = 1; i <= 3; i++) per.recordFailure(`2001:db8::${i}`, 'x')
  assert.is(per.list().length, 0, 'per address: three different addresses, one failure each')
  t += 1
})

test('unban takes the address or the listed prefix', async () => {
  const l = new Lockout(OPTS, { now: () => 0, logger: silentLogger })
  for (let i = 0; i < 3; i++) l.recordFailure('2001:db8:5::1', 'x')
  assert.ok(await l.unban('2001:db8:5::77', 'test'), 'an address inside the prefix')
  for (let i = 0; i < 3; i++) l.recordFailure('2001:db8:5::1', 'x')
  assert.ok(await l.unban('2001:db8:5::/64', 'test'), 'the prefix as listed')
  assert.is(l.list().length, 0)
})

test('tracking stays bounded under a spray of distinct IPs', () => {
  const l = new Lockout({ ...OPTS, ipFailures: 1000, ipv6Prefix: 128 }, { now: () => 0, logger: silentLogger })
  for (let i = 0; i < 30_000; i++) l.recordFailure(`2001:db8::${i.toString(16)}`, undefined)
  const size = (l as unknown as { ipFailures: Map<string, unknown> }).ipFailures.size
  assert.ok(size <= 20_000 && size > 10_000, String(size))
})

test.run()
