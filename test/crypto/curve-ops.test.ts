// The node:crypto curve operations give exactly tweetnacl's bytes.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import nacl from 'tweetnacl'
import { boxSharedKey, ed25519Sign, ed25519Verify, ephemeralBoxKey, x25519PublicKey } from '../../src/crypto/curve-ops.ts'

test('X25519 public keys and box keys equal nacl.box.keyPair / nacl.box.before for random keys', () => {
  for (let i = 0; i < 20; i++) {
    const a = nacl.box.keyPair(); const b = nacl.box.keyPair()
    assert.equal(x25519PublicKey(a.secretKey), a.publicKey)
    const expected = nacl.box.before(b.publicKey, a.secretKey)
    assert.equal(boxSharedKey(a.secretKey, b.publicKey, { secret: false, peer: false }), expected)
    assert.equal(boxSharedKey(a.secretKey, b.publicKey, { secret: true, peer: true }), expected)
    assert.equal(boxSharedKey(a.secretKey, b.publicKey, { secret: true, peer: true }), expected, 'cached')
  }
})

test('the box key cache is per secret and per peer: different peers never share a key', () => {
  const a = nacl.box.keyPair(); const b = nacl.box.keyPair(); const c = nacl.box.keyPair()
  const ab = boxSharedKey(a.secretKey, b.publicKey, { secret: true, peer: true })
  const ac = boxSharedKey(a.secretKey, c.publicKey, { secret: true, peer: true })
  assert.not.equal(ab, ac)
  assert.equal(ac, nacl.box.before(c.publicKey, a.secretKey))
})

test('ephemeral box keys equal tweetnacl\'s for the same secret and open with nacl.box.open', () => {
  const recipient = nacl.box.keyPair()
  const esk = nacl.randomBytes(32)
  const given = ephemeralBoxKey(recipient.publicKey, esk)
  assert.ok(given !== null)
  assert.equal(given.ephemeralPublic, nacl.box.keyPair.fromSecretKey(esk).publicKey)
  assert.equal(given.key, nacl.box.before(recipient.publicKey, esk))
  const fresh = ephemeralBoxKey(recipient.publicKey, nacl.randomBytes(32))
  assert.ok(fresh !== null)
  const nonce = nacl.randomBytes(24)
  const box = nacl.secretbox(Uint8Array.of(1, 2, 3), nonce, fresh.key)
  assert.equal(nacl.box.open(box, nonce, fresh.ephemeralPublic, recipient.secretKey), Uint8Array.of(1, 2, 3))
  assert.is(ephemeralBoxKey(new Uint8Array(32), esk), null)
})

test('a low-order peer key gives null instead of the all-zero key', () => {
  const a = nacl.box.keyPair()
  assert.is(boxSharedKey(a.secretKey, new Uint8Array(32), { secret: false, peer: false }), null)
})

test('Ed25519 signatures equal nacl.sign.detached and verify both ways', () => {
  for (let i = 0; i < 10; i++) {
    const k = nacl.sign.keyPair()
    const msg = nacl.randomBytes(i * 37)
    const sig = ed25519Sign(msg, k.secretKey)
    assert.equal(sig, nacl.sign.detached(msg, k.secretKey))
    assert.ok(ed25519Verify(msg, sig, k.publicKey))
    assert.ok(nacl.sign.detached.verify(msg, sig, k.publicKey))
    const bad = Uint8Array.from(sig); bad[5] ^= 1
    assert.not.ok(ed25519Verify(msg, bad, k.publicKey))
    assert.not.ok(ed25519Verify(msg, sig.subarray(0, 63), k.publicKey), 'short signature is false, not a throw')
  }
})

test('5,000 anonymous seals with JWK exports and GC in between finish (no KeyGenJob deadlock)', () => {
  const recipient = nacl.box.keyPair()
  for (let i = 0; i < 5_000; i++) {
    assert.ok(ephemeralBoxKey(recipient.publicKey, nacl.randomBytes(32)) !== null)
  }
})

test.run()
