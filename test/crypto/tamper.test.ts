// Flip every bit position of every vector envelope, cut it at every length and
// grow it: open must throw CRYPTO_OPEN_FAILED with a stable reason each time,
// never crash with another error, never return plaintext.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { EnvelopeOpenError, fromHex, open, seal, keygen, type Key, type OpenFailureReason } from '../../src/crypto/index.ts'
import { readCommittedVectors, vectorKeys } from './vectors.ts'

const committed = readCommittedVectors() as any
const keys = vectorKeys()
const REASONS: readonly OpenFailureReason[] = ['too-large', 'not-envelope', 'unknown-version', 'unknown-mode', 'bad-flags', 'truncated',
  'mode-not-allowed', 'signature-required', 'unknown-signer', 'bad-signature', 'unknown-key', 'unknown-sender', 'bad-ephemeral-key', 'decrypt-failed']

function expectRefused (bytes: Uint8Array, ring: Key[], what: string, seen: Map<string, number>): void {
  let result: unknown
  try {
    result = open(bytes, { keys: ring })
  } catch (err) {
    if (!(err instanceof EnvelopeOpenError)) throw new Error(`${what}: threw ${String(err)} instead of EnvelopeOpenError`)
    assert.is(err.code, 'EDGEMQ_ERR_CRYPTO_OPEN_FAILED', what)
    assert.ok(REASONS.includes(err.reason), `${what}: reason ${err.reason}`)
    seen.set(err.reason, (seen.get(err.reason) ?? 0) + 1)
    return
  }
  assert.unreachable(`${what}: opened and returned ${JSON.stringify(result).slice(0, 80)}`)
}

test('flipping any single bit of any vector envelope makes open fail with CRYPTO_OPEN_FAILED', () => {
  const seen = new Map<string, number>()
  let cases = 0
  for (const v of committed.vectors) {
    const env = fromHex(v.envelopeHex)
    const ring = (v.openWith as string[]).map((n) => keys[n])
    for (let i = 0; i < env.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const bad = Uint8Array.from(env)
        bad[i] ^= 1 << bit
        expectRefused(bad, ring, `${v.name} byte ${i} bit ${bit}`, seen)
        cases++
      }
    }
  }
  assert.is(cases, 8 * committed.vectors.reduce((n: number, v: { envelopeHex: string }) => n + v.envelopeHex.length / 2, 0), 'every bit of every vector')
  for (const reason of ['unknown-version', 'unknown-mode', 'bad-flags', 'unknown-key', 'decrypt-failed', 'bad-signature', 'not-envelope', 'bad-ephemeral-key']) {
    assert.ok((seen.get(reason) ?? 0) > 0, `some flip hit ${reason}: ${JSON.stringify([...seen])}`)
  }
})

test('cutting a vector envelope at any length, or adding a byte, makes open fail', () => {
  const seen = new Map<string, number>()
  for (const v of committed.vectors) {
    const env = fromHex(v.envelopeHex)
    const ring = (v.openWith as string[]).map((n) => keys[n])
    for (let n = 0; n < env.length; n++) expectRefused(env.subarray(0, n), ring, `${v.name} cut to ${n}`, seen)
    const longer = new Uint8Array(env.length + 1)
    longer.set(env)
    expectRefused(longer, ring, `${v.name} plus one byte`, seen)
  }
  assert.ok((seen.get('truncated') ?? 0) > 0)
})

test('random garbage of every length up to 300 bytes is refused without a crash', () => {
  const seen = new Map<string, number>()
  const ring = Object.values(keys)
  for (let n = 0; n <= 300; n++) {
    const junk = new Uint8Array(n).map(() => Math.floor(Math.random() * 256))
    if (n >= 2) { junk[0] = 0x45; junk[1] = 0x4d } // get past the magic half the time
    if (n >= 5 && n % 2 === 0) { junk[2] = 1; junk[3] = 1 + (n % 3); junk[4] = 0 }
    expectRefused(junk, ring, `garbage of ${n} bytes`, seen)
  }
})

test('an envelope for one key never opens under a different key of the same type', () => {
  const a = keygen('secretbox').secret
  const b = keygen('secretbox').secret
  const env = seal(new Uint8Array(10), { key: a })
  const forged = Uint8Array.from(env)
  forged.set(fromHex(b.id), 5) // claim it is for b
  expectRefused(env, [b], 'other key', new Map())
  expectRefused(forged, [b], 'relabelled key id', new Map())
})

test('a low-order ephemeral key (all-zero shared secret) is refused, not opened with the all-zero key', () => {
  const v = committed.vectors.find((x: { name: string }) => x.name === 'anonymous-reading')
  const env = fromHex(v.envelopeHex)
  for (const point of [new Uint8Array(32), Uint8Array.of(1, ...new Uint8Array(31))]) {
    const forged = Uint8Array.from(env)
    forged.set(point, 13)
    expectRefused(forged, [keys.cloudBoxSecret], 'low-order ephemeral key', new Map())
  }
})

test.run()
