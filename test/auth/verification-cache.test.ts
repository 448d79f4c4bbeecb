import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { forgetVerifiedUser, VerificationCache } from '../../src/auth/verification-cache.ts'

const LINE = '$scrypt$1024$8$1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA=='
const pw = (s: string): Buffer => Buffer.from(s)

test('matches only the same user, hash line and password that were remembered', () => {
  const c = new VerificationCache(10)
  c.remember('alice', LINE, pw('secret'))
  assert.ok(c.matches('alice', LINE, pw('secret')))
  assert.not.ok(c.matches('alice', LINE, pw('secreT')))
  assert.not.ok(c.matches('alice', LINE + 'x', pw('secret')), 'a changed hash line never matches')
  assert.not.ok(c.matches('bob', LINE, pw('secret')))
  c.close()
})

test('two processes (two caches) give different digests: nothing stored is reusable elsewhere', () => {
  const a = new VerificationCache(10); const b = new VerificationCache(10)
  assert.not.equal(a.digest('alice', LINE, pw('secret')), b.digest('alice', LINE, pw('secret')))
  assert.not.ok(a.digest('alice', LINE, pw('secret')).includes(pw('secret')))
  // length-prefixed fields: moving a byte between fields changes the digest
  assert.not.equal(a.digest('ab', 'c', pw('d')), a.digest('a', 'bc', pw('d')))
  a.close(); b.close()
})

test('a miss changes nothing: no eviction, no LRU refresh', () => {
  const c = new VerificationCache(2)
  c.remember('alice', LINE, pw('a'))
  c.remember('bob', LINE, pw('b'))
  assert.not.ok(c.matches('alice', LINE, pw('wrong')))
  c.remember('carol', LINE, pw('c')) // alice is still the least recently used: she goes
  assert.is(c.size, 2)
  assert.not.ok(c.matches('alice', LINE, pw('a')))
  assert.ok(c.matches('bob', LINE, pw('b')))
  c.close()
})

test('bounded: the least recently used user goes first; a hit refreshes', () => {
  const c = new VerificationCache(2)
  c.remember('alice', LINE, pw('a'))
  c.remember('bob', LINE, pw('b'))
  assert.ok(c.matches('alice', LINE, pw('a')))
  c.remember('carol', LINE, pw('c'))
  assert.ok(c.matches('alice', LINE, pw('a')))
  assert.not.ok(c.matches('bob', LINE, pw('b')))
  assert.is(c.size, 2)
  c.close()
})

test('size 0 turns it off', () => {
  const c = new VerificationCache(0)
  c.remember('alice', LINE, pw('a'))
  assert.is(c.size, 0)
  assert.not.ok(c.matches('alice', LINE, pw('a')))
  c.close()
})

test('forgetVerifiedUser clears a user in every live cache of the process, and not in closed ones', () => {
  const a = new VerificationCache(10); const b = new VerificationCache(10)
  a.remember('alice', LINE, pw('a')); b.remember('alice', LINE, pw('a')); b.remember('bob', LINE, pw('b'))
  assert.is(forgetVerifiedUser('alice'), 2)
  assert.not.ok(a.matches('alice', LINE, pw('a')))
  assert.ok(b.matches('bob', LINE, pw('b')))
  b.close()
  assert.is(forgetVerifiedUser('bob'), 0)
  a.close()
})

test.run()
