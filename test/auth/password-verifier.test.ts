import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { PasswordVerifier } from '../../src/auth/password-verifier.ts'
import { VerificationCache } from '../../src/auth/verification-cache.ts'
import { WaitingRoom, WaitingRoomRefusal } from '../../src/auth/waiting-room.ts'
import { decoyHash, hashPassword, parsePasswordHash, type PasswordHash } from '../../src/auth/password-hash.ts'
import type { PasswordEntry } from '../../src/auth/password-file.ts'

async function entry (user: string, password: string): Promise<PasswordEntry> {
  const text = await hashPassword(Buffer.from(password), { N: 1024 })
  return { user, text, hash: parsePasswordHash(text) as PasswordHash, line: 1 }
}
function make (slots = 2): PasswordVerifier {
  return new PasswordVerifier(new VerificationCache(100), new WaitingRoom({ slots, reservedSlots: 0, size: 100, maxWait: 60_000 }))
}
const ticket = (key = '10.0.0.1') => ({ key, trusted: true })

test('20 identical logins at once share one KDF run; the cache is filled once; the next one is a cache hit', async () => {
  const v = make()
  const alice = await entry('alice', 'pw')
  const decoy = decoyHash(alice.hash)
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) => v.verify('alice', alice, decoy, Buffer.from('pw'), ticket(`10.0.0.${i}`))))
  assert.ok(results.every((r) => r))
  assert.is(v.stats.kdfRuns, 1)
  assert.is(v.stats.coalesced, 19)
  assert.is(v.cache.stats.fills, 1)
  assert.ok(await v.verify('alice', alice, decoy, Buffer.from('pw'), ticket()))
  assert.is(v.stats.kdfRuns, 1)
  v.cache.close()
})

test('wrong and unknown-user logins are coalesced alike (no existence signal), all fail, nothing is cached', async () => {
  const v = make()
  const alice = await entry('alice', 'pw')
  const decoy = decoyHash(alice.hash)
  const wrong = await Promise.all(Array.from({ length: 5 }, () => v.verify('alice', alice, decoy, Buffer.from('guess'), ticket())))
  const unknown = await Promise.all(Array.from({ length: 5 }, () => v.verify('mallory', undefined, decoy, Buffer.from('guess'), ticket())))
  assert.ok([...wrong, ...unknown].every((r) => !r))
  assert.is(v.stats.kdfRuns, 2, 'one run per distinct (user, password)')
  assert.is(v.cache.size, 0)
  const distinct = await Promise.all(['a', 'b', 'c'].map((g) => v.verify('alice', alice, decoy, Buffer.from(g), ticket())))
  assert.equal(distinct, [false, false, false])
  assert.is(v.stats.kdfRuns, 5, 'different guesses each cost a run')
  v.cache.close()
})

test('a joiner whose first login was dropped (hung up) verifies on its own ticket; a busy refusal is shared', async () => {
  const v = make(1)
  const alice = await entry('alice', 'pw')
  const decoy = decoyHash(alice.hash)
  let release!: () => void
  const hold = v.room.run(ticket('busy'), async () => await new Promise<void>((resolve) => { release = resolve }))
  const leader = v.verify('alice', alice, decoy, Buffer.from('pw'), { key: 'a', trusted: true, stillWanted: () => false })
  const joiner = v.verify('alice', alice, decoy, Buffer.from('pw'), ticket('b'))
  const leaderResult = leader.then(() => 'ran', (err) => err instanceof WaitingRoomRefusal ? err.why : String(err))
  release()
  await hold
  assert.is(await leaderResult, 'abandoned')
  assert.ok(await joiner, 'the joiner got in on its own')
  v.cache.close()
})

test.run()
