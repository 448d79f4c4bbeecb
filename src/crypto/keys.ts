// Key material: the five key types, key ids, key generation. Never logs or
// prints secret bytes; errors name the key by type and id only.
import nacl from 'tweetnacl'
import { EdgemqError, ERROR_CODES } from '../errors.ts'
import { x25519PublicKey } from './curve-ops.ts'
import { SIZES } from './envelope-format.ts'
import { defaultRandom, type RandomSource } from './random-source.ts'

/** Key types: a shared secretbox key, and secret/public halves of box (X25519) and sign (Ed25519) pairs. */
export const KEY_TYPES = ['secretbox', 'box-secret', 'box-public', 'sign-secret', 'sign-public'] as const
/** One of KEY_TYPES. */
export type KeyType = typeof KEY_TYPES[number]
/** What `keygen` makes: a shared key, or a box or sign key pair. */
export type KeygenType = 'secretbox' | 'box' | 'sign'

/** A key: its type, raw bytes and key id (16 hex digits). */
export interface Key {
  readonly type: KeyType
  readonly bytes: Uint8Array
  /** Key id, 16 lowercase hex digits (8 bytes on the wire). */
  readonly id: string
}

/** Raw key lengths by type (sign-secret is TweetNaCl's 64-byte seed||public form). */
export const KEY_LENGTHS: Readonly<Record<KeyType, number>> = {
  secretbox: 32, 'box-secret': 32, 'box-public': 32, 'sign-secret': 64, 'sign-public': 32
}

/**
 * Domain label hashed before the key: a key id can never equal a hash of the
 * same bytes made for another purpose, and the id of a secretbox key says
 * nothing usable about the key (64 bits of SHA-512 over a 256-bit secret).
 */
export const KEY_ID_LABEL = 'edgemq-key-id-v1'
/** The type byte hashed into a key id: which kind of key the id names. */
export const KEY_ID_TYPE_BYTES = { secretbox: 0x01, box: 0x02, sign: 0x03 } as const

/**
 * Key id of raw key bytes: the first 8 bytes of
 * SHA-512("edgemq-key-id-v1" || typeByte || key), with typeByte 01 for a
 * secretbox key, 02 for a box public key, 03 for an Ed25519 public key.
 * TweetNaCl C computes it with crypto_hash (SHA-512).
 */
export function computeKeyId (kind: keyof typeof KEY_ID_TYPE_BYTES, keyBytes: Uint8Array): Uint8Array {
  const label = new TextEncoder().encode(KEY_ID_LABEL)
  const input = new Uint8Array(label.length + 1 + keyBytes.length)
  input.set(label, 0)
  input[label.length] = KEY_ID_TYPE_BYTES[kind]
  input.set(keyBytes, label.length + 1)
  return nacl.hash(input).subarray(0, SIZES.keyId)
}

/** The key id (16 hex digits) of a key; a secret half has the id of its public half, so a pair shares one id. */
export function keyId (key: { type: KeyType, bytes: Uint8Array }): string {
  checkLength(key.type, key.bytes)
  switch (key.type) {
    case 'secretbox': return toHex(computeKeyId('secretbox', key.bytes))
    case 'box-public': return toHex(computeKeyId('box', key.bytes))
    case 'box-secret': return toHex(computeKeyId('box', x25519PublicKey(key.bytes)))
    case 'sign-public': return toHex(computeKeyId('sign', key.bytes))
    case 'sign-secret': return toHex(computeKeyId('sign', key.bytes.subarray(32)))
  }
}

/** Builds a Key from a type and raw bytes, checking the length (and, for sign-secret, that its public half matches). */
export function makeKey (type: KeyType, bytes: Uint8Array): Key {
  if (!(KEY_TYPES as readonly string[]).includes(type)) {
    throw new EdgemqError(ERROR_CODES.CRYPTO_INVALID, `unknown key type "${String(type)}": use one of ${KEY_TYPES.join(', ')}`)
  }
  checkLength(type, bytes)
  if (type === 'sign-secret') {
    const derived = nacl.sign.keyPair.fromSeed(bytes.subarray(0, 32)).publicKey
    if (!nacl.verify(derived, bytes.subarray(32))) {
      throw new EdgemqError(ERROR_CODES.CRYPTO_INVALID, 'sign-secret key is inconsistent: its last 32 bytes are not the public key of its first 32 (seed); the key is corrupt, generate a new one with edgemq keygen --type sign')
    }
  }
  const copy = Uint8Array.from(bytes)
  return Object.freeze({ type, bytes: copy, id: keyId({ type, bytes: copy }) })
}

/** The public half of a box-secret or sign-secret key. */
export function publicKeyOf (secret: Key): Key {
  if (secret.type === 'box-secret') return makeKey('box-public', x25519PublicKey(secret.bytes))
  if (secret.type === 'sign-secret') return makeKey('sign-public', secret.bytes.subarray(32))
  throw new EdgemqError(ERROR_CODES.CRYPTO_INVALID, `a ${secret.type} key (id ${secret.id}) has no public half: only box-secret and sign-secret keys do`)
}

/** A new key: secretbox gives one shared key; box and sign give a secret and its public key. Draws 32 random bytes. */
export function keygen (type: KeygenType, random: RandomSource = defaultRandom): { secret: Key, public?: Key } {
  const seed = random(32)
  if (seed.length !== 32) throw new EdgemqError(ERROR_CODES.CRYPTO_INVALID, `random source returned ${seed.length} bytes, asked for 32`)
  switch (type) {
    case 'secretbox':
      return { secret: makeKey('secretbox', seed) }
    case 'box': {
      const secret = makeKey('box-secret', seed)
      return { secret, public: publicKeyOf(secret) }
    }
    case 'sign': {
      const secret = makeKey('sign-secret', nacl.sign.keyPair.fromSeed(seed).secretKey)
      return { secret, public: publicKeyOf(secret) }
    }
    default:
      throw new EdgemqError(ERROR_CODES.CRYPTO_INVALID, `unknown keygen type "${String(type)}": use secretbox, box or sign`)
  }
}

/** Whether a key type is a secret (never readable by group or others on disk). */
export function isSecretType (type: KeyType): boolean {
  return type === 'secretbox' || type === 'box-secret' || type === 'sign-secret'
}

/** Lowercase hex of bytes. */
export function toHex (bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}

/** Bytes of a hex string (even length, 0-9a-f); throws CRYPTO_INVALID naming `what` otherwise. */
export function fromHex (hex: string, what = 'hex value'): Uint8Array {
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(hex)) throw new EdgemqError(ERROR_CODES.CRYPTO_INVALID, `${what} must be hex digits in pairs: got "${hex.slice(0, 40)}"`)
  return Uint8Array.from(Buffer.from(hex, 'hex'))
}

function checkLength (type: KeyType, bytes: Uint8Array): void {
  const want = KEY_LENGTHS[type]
  if (!(bytes instanceof Uint8Array) || bytes.length !== want) {
    throw new EdgemqError(ERROR_CODES.CRYPTO_INVALID, `a ${type} key must be ${want} bytes: got ${bytes instanceof Uint8Array ? bytes.length : typeof bytes}`)
  }
}
