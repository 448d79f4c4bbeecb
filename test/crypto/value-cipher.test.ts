// Encryption at rest: the ValueCipher persistence and the bridge queue use,
// and the device key file it comes from.
import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createValueCipher, formatKeyFile, isEdgemqError, keygen, loadOrCreateDeviceKey, readKeyFile, VALUE_OVERHEAD } from '../../src/crypto/index.ts'

const test = suite<{ dir: string }>('value cipher', { dir: '' })
test.before.each(async (ctx) => { ctx.dir = await mkdtemp(join(tmpdir(), 'edgemq-valuecipher-')) })
test.after.each(async (ctx) => { await rm(ctx.dir, { recursive: true, force: true }) })

const openFailed = (text: string) => (e: unknown): boolean => isEdgemqError(e, 'EDGEMQ_ERR_CRYPTO_OPEN_FAILED') && (e as Error).message.includes(text)

test('seals and opens values of 0 B to 64 KiB; the stored bytes never contain the plaintext', () => {
  const cipher = createValueCipher(keygen('secretbox').secret.bytes)
  for (const n of [0, 1, 64, 1024, 65536]) {
    const plain = new Uint8Array(n).fill(0x41)
    const sealed = cipher.seal(plain)
    assert.is(sealed.length, n + VALUE_OVERHEAD)
    assert.equal(cipher.open(sealed), plain)
    if (n >= 16) assert.not.ok(Buffer.from(sealed).includes(Buffer.from(plain.subarray(0, 16))))
  }
  assert.is(VALUE_OVERHEAD, 45)
})

test('every value gets its own nonce: sealing the same value twice gives different bytes', () => {
  const cipher = createValueCipher(keygen('secretbox').secret.bytes)
  const v = new Uint8Array([1, 2, 3])
  assert.not.equal(cipher.seal(v), cipher.seal(v))
})

test('a flipped bit anywhere, a cut value or a plain value is refused with CRYPTO_OPEN_FAILED', () => {
  const cipher = createValueCipher(keygen('secretbox').secret.bytes)
  const sealed = cipher.seal(new TextEncoder().encode('queued message'))
  for (let i = 0; i < sealed.length; i++) {
    const bad = Uint8Array.from(sealed); bad[i] ^= 0x01
    assert.throws(() => cipher.open(bad), (e: unknown) => isEdgemqError(e, 'EDGEMQ_ERR_CRYPTO_OPEN_FAILED'), `byte ${i}`)
  }
  assert.throws(() => cipher.open(sealed.subarray(0, sealed.length - 1)), openFailed('does not authenticate'))
  assert.throws(() => cipher.open(new TextEncoder().encode('plain value')), openFailed('not sealed'))
  assert.throws(() => cipher.open(new Uint8Array(60)), openFailed('format byte'))
})

test('a value sealed under another device key says so, naming both key ids', () => {
  const a = keygen('secretbox').secret
  const b = keygen('secretbox').secret
  const sealed = createValueCipher(a.bytes).seal(new Uint8Array(8))
  assert.throws(() => createValueCipher(b.bytes).open(sealed), openFailed(b.id))
  assert.throws(() => createValueCipher(b.bytes).open(sealed), openFailed(a.id.slice(0, 8)))
})

test('a device key must be 32 bytes', () => {
  assert.throws(() => createValueCipher(new Uint8Array(16)), (e: unknown) => isEdgemqError(e, 'EDGEMQ_ERR_CRYPTO_INVALID'))
})

test('loadOrCreateDeviceKey creates a 0600 key file once, then returns the same key', async ({ dir }) => {
  const path = join(dir, 'device.key')
  const first = await loadOrCreateDeviceKey(path)
  assert.is(first.length, 32)
  assert.is((await stat(path)).mode & 0o777, 0o600)
  assert.equal(await loadOrCreateDeviceKey(path), first)
  assert.equal((await readKeyFile(path)).bytes, first)
  const sealed = createValueCipher(first).seal(new Uint8Array([9]))
  assert.equal(createValueCipher(await loadOrCreateDeviceKey(path)).open(sealed), new Uint8Array([9]))
})

test('two concurrent first starts agree on one device key', async ({ dir }) => {
  const path = join(dir, 'device.key')
  const keys = await Promise.all(Array.from({ length: 5 }, async () => await loadOrCreateDeviceKey(path)))
  for (const k of keys) assert.equal(k, keys[0])
})

test('loadOrCreateDeviceKey refuses a readable key file and a key of the wrong type, never replacing them', async ({ dir }) => {
  const path = join(dir, 'device.key')
  await loadOrCreateDeviceKey(path)
  await chmod(path, 0o644)
  let err: unknown
  try { await loadOrCreateDeviceKey(path) } catch (e) { err = e }
  assert.ok(isEdgemqError(err, 'EDGEMQ_ERR_CRYPTO_KEY_INSECURE'), String(err))
  const boxPath = join(dir, 'box.key')
  await writeFile(boxPath, formatKeyFile(keygen('box').secret), { mode: 0o600 })
  err = undefined
  try { await loadOrCreateDeviceKey(boxPath) } catch (e) { err = e }
  assert.ok(isEdgemqError(err, 'EDGEMQ_ERR_CRYPTO_INVALID') && err.message.includes('expected secretbox'), String(err))
})

test.run()
