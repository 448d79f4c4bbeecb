// seal/open round trips in every mode, and the errors for wrong keys, modes,
// limits and options.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import {
  createFixedRandom, envelopeLength, EnvelopeOpenError, keygen, open, seal, sealMode, isEdgemqError, type Key, type OpenFailureReason
} from '../../src/crypto/index.ts'

const text = (s: string): Uint8Array => new TextEncoder().encode(s)
const shared = keygen('secretbox').secret
const sensor = keygen('box')
const cloud = keygen('box')
const signer = keygen('sign')
const pub = (p: { public?: Key }): Key => p.public as Key

function refused (fn: () => unknown, reason: OpenFailureReason): EnvelopeOpenError {
  try { fn() } catch (err) {
    assert.instance(err, EnvelopeOpenError)
    assert.is((err as EnvelopeOpenError).reason, reason, (err as Error).message)
    assert.is((err as EnvelopeOpenError).code, 'EDGEMQ_ERR_CRYPTO_OPEN_FAILED')
    return err as EnvelopeOpenError
  }
  throw new Error(`expected refusal (${reason})`)
}

test('round-trips in secretbox, box and anonymous modes, signed and not, at the documented sizes', () => {
  const msg = text('{"t":21.5}')
  const cases: Array<{ options: Parameters<typeof seal>[1], keys: Key[], mode: string }> = [
    { options: { key: shared }, keys: [shared], mode: 'secretbox' },
    { options: { to: pub(cloud), from: sensor.secret }, keys: [cloud.secret, pub(sensor)], mode: 'box' },
    { options: { to: pub(cloud) }, keys: [cloud.secret], mode: 'anonymous' }
  ]
  for (const c of cases) {
    for (const sign of [undefined, signer.secret]) {
      const env = seal(msg, { ...c.options, sign })
      assert.is(env.length, envelopeLength(c.mode as 'box', sign !== undefined, msg.length))
      const r = open(env, { keys: sign === undefined ? c.keys : [...c.keys, pub(signer)] })
      assert.equal(r.plaintext, msg)
      assert.is(r.mode, c.mode)
      assert.is(r.signerKeyId, sign === undefined ? undefined : signer.secret.id)
    }
  }
  assert.is(envelopeLength('secretbox', false, 0), 53)
  assert.is(envelopeLength('box', false, 0), 61)
  assert.is(envelopeLength('anonymous', false, 0), 85)
  assert.is(envelopeLength('anonymous', true, 0), 85 + 72)
})

test('two seals of the same plaintext differ (fresh nonce, fresh ephemeral key)', () => {
  const msg = text('same')
  assert.not.equal(seal(msg, { key: shared }), seal(msg, { key: shared }))
  const a = seal(msg, { to: pub(cloud) }); const b = seal(msg, { to: pub(cloud) })
  assert.not.equal(a.subarray(13, 45), b.subarray(13, 45))
})

test('random draws: anonymous takes 32 bytes (ephemeral secret) then 24 (nonce), the others 24', () => {
  const esk = new Uint8Array(32).fill(7); const nonce = new Uint8Array(24).fill(9)
  const env = seal(text('x'), { to: pub(cloud), random: createFixedRandom([esk, nonce]) })
  assert.equal(env.subarray(45, 69), nonce)
  const env2 = seal(text('x'), { key: shared, random: createFixedRandom([nonce]) })
  assert.equal(env2.subarray(13, 37), nonce)
  assert.throws(() => seal(text('x'), { key: shared, random: createFixedRandom([new Uint8Array(16)]) }))
})

test('box mode authenticates the sender: an unknown sender key is refused by id before decrypting', () => {
  const env = seal(text('x'), { to: pub(cloud), from: sensor.secret })
  const other = keygen('box')
  const err = refused(() => open(env, { keys: [cloud.secret, pub(other)] }), 'unknown-sender')
  assert.match(err.message, sensor.secret.id)
  assert.match(err.message, '--from')
})

test('wrong key: the message names the envelope key id and the ids given, and how to fix it', () => {
  const env = seal(text('x'), { key: shared })
  const other = keygen('secretbox').secret
  const err = refused(() => open(env, { keys: [other] }), 'unknown-key')
  assert.match(err.message, shared.id)
  assert.match(err.message, other.id)
  refused(() => open(seal(text('x'), { to: pub(cloud) }), { keys: [sensor.secret] }), 'unknown-key')
})

test('a verify key makes a signature required; a signed envelope needs its signer\'s key', () => {
  refused(() => open(seal(text('x'), { key: shared }), { keys: [shared, pub(signer)] }), 'signature-required')
  refused(() => open(seal(text('x'), { key: shared, sign: signer.secret }), { keys: [shared] }), 'unknown-signer')
  const other = keygen('sign')
  refused(() => open(seal(text('x'), { key: shared, sign: other.secret }), { keys: [shared, pub(signer)] }), 'unknown-signer')
  // requireSignature: false lets a consumer without signer keys still read unsigned envelopes next to a verify key
  assert.equal(open(seal(text('x'), { key: shared }), { keys: [shared, pub(signer)], requireSignature: false }).plaintext, text('x'))
})

test('modes restricts what is accepted: a box-only rule refuses an anonymous envelope to the same key', () => {
  const env = seal(text('x'), { to: pub(cloud) })
  refused(() => open(env, { keys: [cloud.secret, pub(sensor)], modes: ['box'] }), 'mode-not-allowed')
})

test('maxBytes is checked before anything else; the default is 1 MiB', () => {
  const big = seal(new Uint8Array(2000), { key: shared })
  refused(() => open(big, { keys: [shared], maxBytes: 1000 }), 'too-large')
  assert.is(open(big, { keys: [shared] }).plaintext.length, 2000)
  refused(() => open(new Uint8Array(1024 * 1024 + 1), { keys: [shared] }), 'too-large')
  assert.throws(() => open(big, { keys: [shared], maxBytes: 0 }), (e: unknown) => isEdgemqError(e, 'EDGEMQ_ERR_CRYPTO_INVALID'))
})

test('plaintext is refused as not-envelope with a hint that it was never sealed', () => {
  const err = refused(() => open(text('{"t":21.5}'), { keys: [shared] }), 'not-envelope')
  assert.match(err.message, 'looks like plaintext')
  refused(() => open(new Uint8Array(0), { keys: [shared] }), 'not-envelope')
})

test('seal refuses key mixes that make no mode, with CRYPTO_INVALID', () => {
  const invalid = (fn: () => unknown, text: string): void => {
    assert.throws(fn, (e: unknown) => isEdgemqError(e, 'EDGEMQ_ERR_CRYPTO_INVALID') && (e as Error).message.includes(text))
  }
  invalid(() => seal(text('x'), {}), 'nothing to seal with')
  invalid(() => seal(text('x'), { key: shared, to: pub(cloud) }), 'not both')
  invalid(() => seal(text('x'), { from: sensor.secret }), 'needs to')
  invalid(() => seal(text('x'), { key: cloud.secret }), 'must be a secretbox key')
  invalid(() => seal(text('x'), { to: cloud.secret }), 'must be a box-public key')
  invalid(() => seal(text('x'), { key: shared, sign: pub(signer) }), 'must be a sign-secret key')
  assert.is(sealMode({ to: pub(cloud) }), 'anonymous')
  assert.is(sealMode({ to: pub(cloud), from: sensor.secret }), 'box')
})

test.run()
