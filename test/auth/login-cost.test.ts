// The decoy and the floor that make failed logins cost the same for known and
// unknown users whatever the password file mixes (src/auth/login-cost.ts).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { FailedLoginFloor, padFailure, pickDecoy } from '../../src/auth/login-cost.ts'
import { hashPassword, parsePasswordHash, type PasswordHash } from '../../src/auth/password-hash.ts'

const parse = (text: string): PasswordHash => parsePasswordHash(text) as PasswordHash
const b64 = (n: number): string => Buffer.alloc(n, 7).toString('base64')

test('the decoy is the strongest class by the clock, wherever it is in the file', async () => {
  const mosq = parse(`$7$101$${b64(12)}$${b64(64)}`)
  const legacy = parse(`$6$${b64(12)}$${b64(64)}`)
  const strong = parse(await hashPassword(Buffer.from('x'), { N: 4096 }))
  const picked = await pickDecoy([mosq, legacy, strong])
  assert.is(picked.decoy.scheme, 'scrypt')
  assert.is(picked.classes, 3)
  assert.ok(picked.costMs > 0)
  const { decoy } = picked
  if (decoy.scheme !== 'scrypt' || strong.scheme !== 'scrypt') throw new Error('unreachable')
  assert.is(decoy.N, strong.N)
  assert.not.equal(decoy.salt, strong.salt, 'a fresh salt, not a copy of a user\'s')
})

test('an empty file gets edgemq\'s default scrypt decoy', async () => {
  const picked = await pickDecoy([])
  assert.is(picked.decoy.scheme, 'scrypt')
})

test('the floor is the median of recent decoy checks: one slow outlier does not move it', () => {
  const floor = new FailedLoginFloor(10)
  for (const ms of [11, 9, 10, 500, 10]) floor.record(ms)
  assert.is(floor.ms, 10)
})

test('padFailure waits out the rest of the floor and nothing when already past it', async () => {
  const floor = new FailedLoginFloor(60)
  let t0 = performance.now()
  await padFailure(floor, 10)
  assert.ok(performance.now() - t0 >= 45, 'padded to about the floor')
  t0 = performance.now()
  await padFailure(floor, 80)
  assert.ok(performance.now() - t0 < 40, 'no wait past the floor')
})

test.run()
