// Sealing: plaintext -> envelope. The mode follows from the keys given, so a
// caller cannot ask for "box" and forget the sender key.
import nacl from 'tweetnacl'
import { EdgemqError, ERROR_CODES } from '../errors.ts'
import { boxSharedKey, ed25519Sign, ephemeralBoxKey } from './curve-ops.ts'
import { encodeHeader, SIZES, type EnvelopeMode } from './envelope-format.ts'
import { fromHex, type Key } from './keys.ts'
import { defaultRandom, type RandomSource } from './random-source.ts'

/**
 * What to seal with. The mode follows from the keys:
 * - `key` (secretbox): shared-key mode;
 * - `to` (box-public) and `from` (box-secret): sender-to-recipient box;
 * - `to` alone: anonymous sender (fresh ephemeral key pair per envelope).
 * `sign` (sign-secret) adds an Ed25519 signature over the whole envelope.
 */
export interface SealOptions {
  key?: Key
  to?: Key
  from?: Key
  sign?: Key
  /** Random bytes for nonces and ephemeral keys; the OS CSPRNG unless a test injects one. */
  random?: RandomSource
}

/** Which mode `seal` uses for these options; throws CRYPTO_INVALID when the keys do not make one. */
export function sealMode (options: SealOptions): EnvelopeMode {
  if (options.key !== undefined) {
    if (options.to !== undefined || options.from !== undefined) invalid('give either key (shared-key mode) or to/from (box modes), not both')
    expectType(options.key, 'secretbox', 'key')
    return 'secretbox'
  }
  if (options.to === undefined) {
    if (options.from !== undefined) invalid('from (sender secret key) needs to (recipient public key)')
    invalid('nothing to seal with: give key (a secretbox key), or to (a recipient box public key), optionally from (a sender box secret key)')
  }
  expectType(options.to, 'box-public', 'to')
  if (options.from !== undefined) {
    expectType(options.from, 'box-secret', 'from')
    return 'box'
  }
  return 'anonymous'
}

/**
 * Seals `plaintext` into a version-1 envelope (docs/envelope.md). Random
 * draws, in order: anonymous mode 32 bytes (ephemeral secret key) then 24
 * (nonce); other modes 24 (nonce). The vectors depend on this order.
 */
export function seal (plaintext: Uint8Array, options: SealOptions): Uint8Array {
  if (!(plaintext instanceof Uint8Array)) invalid(`plaintext must be bytes (Uint8Array or Buffer): got ${typeof plaintext}`)
  const mode = sealMode(options)
  if (options.sign !== undefined) expectType(options.sign, 'sign-secret', 'sign')
  const random = options.random ?? defaultRandom
  const signerKeyId = options.sign === undefined ? undefined : idBytes(options.sign)
  let ciphertext: Uint8Array
  let header: Uint8Array
  if (mode === 'secretbox') {
    const key = options.key as Key
    const nonce = draw(random, SIZES.nonce)
    header = encodeHeader({ mode, keyId: idBytes(key), signerKeyId, nonce })
    ciphertext = nacl.secretbox(plaintext, nonce, key.bytes)
  } else if (mode === 'box') {
    const to = options.to as Key
    const from = options.from as Key
    const nonce = draw(random, SIZES.nonce)
    header = encodeHeader({ mode, keyId: idBytes(to), senderKeyId: idBytes(from), signerKeyId, nonce })
    ciphertext = nacl.secretbox(plaintext, nonce, boxKey(from.bytes, to.bytes))
  } else {
    const to = options.to as Key
    // A fresh key pair per envelope: the recipient learns nothing about the
    // sender, and the secret half is wiped as soon as the box is made.
    const ephemeralSecret = draw(random, 32)
    const ephemeral = ephemeralBoxKey(to.bytes, ephemeralSecret)
    ephemeralSecret.fill(0)
    if (ephemeral === null) invalid(LOW_ORDER)
    const nonce = draw(random, SIZES.nonce)
    header = encodeHeader({ mode, keyId: idBytes(to), ephemeralPublicKey: ephemeral.ephemeralPublic, signerKeyId, nonce })
    ciphertext = nacl.secretbox(plaintext, nonce, ephemeral.key)
    ephemeral.key.fill(0)
  }
  const signatureLength = options.sign === undefined ? 0 : SIZES.signature
  const out = new Uint8Array(header.length + ciphertext.length + signatureLength)
  out.set(header, 0)
  out.set(ciphertext, header.length)
  if (options.sign !== undefined) {
    const signedPart = out.subarray(0, header.length + ciphertext.length)
    out.set(ed25519Sign(signedPart, options.sign.bytes), signedPart.length)
  }
  return out
}

const LOW_ORDER = 'the recipient public key is a low-order X25519 point (no shared secret): the key file is corrupt or hostile; ask the recipient for its real FILE.pub'

/** nacl.box is secretbox under crypto_box_beforenm; computed once per long-lived key pair. */
function boxKey (secret: Uint8Array, recipient: Uint8Array): Uint8Array {
  const key = boxSharedKey(secret, recipient, { secret: true, peer: true })
  if (key === null) invalid(LOW_ORDER)
  return key
}

const idCache = new WeakMap<Key, Uint8Array>()
/** The 8 id bytes of a key, parsed from its hex id once per Key. */
function idBytes (key: Key): Uint8Array {
  let bytes = idCache.get(key)
  if (bytes === undefined) { bytes = fromHex(key.id); idCache.set(key, bytes) }
  return bytes
}

function draw (random: RandomSource, n: number): Uint8Array {
  const bytes = random(n)
  if (!(bytes instanceof Uint8Array) || bytes.length !== n) invalid(`random source returned ${bytes instanceof Uint8Array ? bytes.length : typeof bytes} bytes, asked for ${n}`)
  return bytes
}

function expectType (key: Key, type: Key['type'], role: string): void {
  if (key?.type !== type) invalid(`${role} must be a ${type} key: got ${key?.type === undefined ? typeof key : `a ${key.type} key (id ${key.id})`}`)
}

function invalid (message: string): never {
  throw new EdgemqError(ERROR_CODES.CRYPTO_INVALID, `cannot seal: ${message}`)
}
