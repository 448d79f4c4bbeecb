// The committed known-answer vectors are what the code produces today, and
// they open (or fail) exactly as the JSON says: a C port checks itself against
// the same file.
import { createHash } from 'node:crypto'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createValueCipher, EnvelopeOpenError, fromHex, open, toHex, type Key } from '../../src/crypto/index.ts'
import { readCommittedVectors, vectorKeys, vectorsJson, VECTORS_PATH } from './vectors.ts'
import { readFileSync } from 'node:fs'

const committed = readCommittedVectors() as any
const keys = vectorKeys()
const ring = (names: string[]): Key[] => names.map((n) => keys[n])

test('vectors.json is byte for byte what the code generates (regenerate with --write only on a format change)', () => {
  assert.is(readFileSync(VECTORS_PATH, 'utf8'), vectorsJson())
})

test('key ids are SHA-512(label || type byte || key)[0..8], checked with node:crypto', () => {
  const typeByte: Record<string, number> = { secretbox: 1, 'box-public': 2, 'sign-public': 3 }
  for (const [name, k] of Object.entries(committed.keys) as Array<[string, { type: string, hex: string, id: string }]>) {
    if (typeByte[k.type] === undefined) continue
    const digest = createHash('sha512').update(committed.keyIdLabel).update(Uint8Array.of(typeByte[k.type])).update(fromHex(k.hex)).digest()
    assert.is(k.id, digest.subarray(0, 8).toString('hex'), name)
  }
  assert.is(committed.keys.cloudBoxSecret.id, committed.keys.cloudBoxPublic.id, 'a pair shares its public half\'s id')
})

test('every vector opens to its plaintext with the keys it names, reporting mode and ids', () => {
  assert.is(committed.vectors.length, 9)
  for (const v of committed.vectors) {
    const result = open(fromHex(v.envelopeHex), { keys: ring(v.openWith) })
    assert.is(toHex(result.plaintext), v.plaintextHex, v.name)
    assert.is(result.mode, v.mode, v.name)
    if (v.seal.sign !== undefined) assert.is(result.signerKeyId, keys[v.seal.sign].id, v.name)
    if (v.mode === 'box') assert.is(result.senderKeyId, keys[v.seal.from].id, v.name)
  }
})

test('envelope fields sit where docs/envelope.md says: magic, version, mode, flags, key id, nonce', () => {
  for (const v of committed.vectors) {
    const env = fromHex(v.envelopeHex)
    assert.is(toHex(env.subarray(0, 3)), '454d01', v.name)
    assert.is(env[3], { secretbox: 1, box: 2, anonymous: 3 }[v.mode as string], v.name)
    assert.is(env[4], v.seal.sign === undefined ? 0 : 1, v.name)
    const recipient = v.seal.key ?? v.seal.to
    assert.is(toHex(env.subarray(5, 13)), keys[recipient].id, v.name)
    let at = 13
    if (v.mode === 'box') { assert.is(toHex(env.subarray(at, at + 8)), keys[v.seal.from].id); at += 8 }
    if (v.mode === 'anonymous') { assert.is(toHex(env.subarray(at, at + 32)), v.ephemeralPublicHex); at += 32 }
    if (v.seal.sign !== undefined) { assert.is(toHex(env.subarray(at, at + 8)), keys[v.seal.sign].id); at += 8 }
    assert.is(toHex(env.subarray(at, at + 24)), v.nonceHex, v.name)
    const signature = v.seal.sign === undefined ? 0 : 64
    assert.is(env.length, at + 24 + 16 + v.plaintextHex.length / 2 + signature, v.name)
  }
})

test('every invalid vector fails with CRYPTO_OPEN_FAILED and its stated reason', () => {
  assert.ok(committed.invalid.length >= 10)
  for (const v of committed.invalid) {
    try {
      open(fromHex(v.envelopeHex), { keys: ring(v.openWith) })
      assert.unreachable(`${v.name} opened`)
    } catch (err) {
      assert.instance(err, EnvelopeOpenError, v.name)
      assert.is((err as EnvelopeOpenError).code, 'EDGEMQ_ERR_CRYPTO_OPEN_FAILED', v.name)
      assert.is((err as EnvelopeOpenError).reason, v.reason, v.name)
    }
  }
})

test('the at-rest vector opens with the device key', () => {
  const cipher = createValueCipher(keys[committed.atRest.deviceKey].bytes)
  assert.is(toHex(cipher.open(fromHex(committed.atRest.sealedHex))), committed.atRest.plaintextHex)
  assert.is(committed.atRest.sealedHex.slice(10, 58), committed.atRest.nonceHex)
})

test.run()
