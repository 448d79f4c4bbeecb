// The curve operations (X25519, Ed25519) through node:crypto: byte-identical
// to tweetnacl's and much faster. Measured here per CPU-second
// (test/crypto/bench-envelope.ts): Ed25519 sign 15,507/s vs 135/s in
// tweetnacl-js, verify 7,034/s vs 72/s; an X25519 exchange on imported keys
// ~5,800/s vs ~220-690/s, but importing a private key from DER costs more than
// the exchange, so long-lived keys are imported once and cached, and the
// per-message ephemeral key goes in as JWK. XSalsa20-Poly1305, HSalsa20 and
// SHA-512 stay tweetnacl's. test/crypto/vectors.test.ts pins the bytes.
import { createPrivateKey, createPublicKey, diffieHellman, sign, verify, type KeyObject } from 'node:crypto'
import nacl from 'tweetnacl'

// DER prefixes that wrap a raw 32-byte key as PKCS#8 / SPKI (RFC 8410).
const X25519_PKCS8 = Buffer.from('302e020100300506032b656e04220420', 'hex')
const X25519_SPKI = Buffer.from('302a300506032b656e032100', 'hex') // marks X25519 for publicObject
const ED25519_PKCS8 = Buffer.from('302e020100300506032b657004220420', 'hex')
const ED25519_SPKI = Buffer.from('302a300506032b6570032100', 'hex') // marks Ed25519 for publicObject

// crypto_box_beforenm = HSalsa20(X25519(sk, pk), zero nonce, "expand 32-byte k").
const SIGMA = new TextEncoder().encode('expand 32-byte k')
const ZERO16 = new Uint8Array(16)
const PLACEHOLDER_X = Buffer.alloc(32).toString('base64url')
const hsalsa20 = (nacl as unknown as { lowlevel: { crypto_core_hsalsa20: (out: Uint8Array, inp: Uint8Array, k: Uint8Array, c: Uint8Array) => number } }).lowlevel.crypto_core_hsalsa20

// Key objects and box keys per long-lived key (keyring entries), so the
// DER import and the X25519 run once per key pair, not once per message.
// Keyed by the byte arrays of frozen Keys: they go when the Key goes.
const privateObjects = new WeakMap<Uint8Array, KeyObject>()
const publicObjects = new WeakMap<Uint8Array, KeyObject>()
const signObjects = new WeakMap<Uint8Array, KeyObject>()
const boxKeys = new WeakMap<Uint8Array, Map<string, Uint8Array>>()
/** Most cached box keys per secret key: a keyring of senders is small; a flood of new peers cannot grow it. */
const MAX_BOX_KEYS_PER_SECRET = 64

function wrap (prefix: Buffer, raw: Uint8Array): Buffer {
  return Buffer.concat([prefix, raw])
}

function privateObject (prefix: Buffer, raw: Uint8Array, cache: boolean): KeyObject {
  const hit = cache ? privateObjects.get(raw) : undefined
  if (hit !== undefined) return hit
  const obj = createPrivateKey({ key: wrap(prefix, raw), format: 'der', type: 'pkcs8' })
  if (cache) privateObjects.set(raw, obj)
  return obj
}

function publicObject (prefix: Buffer, raw: Uint8Array, cache: boolean): KeyObject {
  const hit = cache ? publicObjects.get(raw) : undefined
  if (hit !== undefined) return hit
  // JWK import is ~30x faster than DER through OpenSSL 3's decoders (measured
  // 13,709/s vs ~450/s): it matters for the per-message ephemeral key.
  const crv = prefix === X25519_SPKI ? 'X25519' : 'Ed25519'
  const obj = createPublicKey({ key: { kty: 'OKP', crv, x: Buffer.from(raw).toString('base64url') }, format: 'jwk' })
  if (cache) publicObjects.set(raw, obj)
  return obj
}

/**
 * The 32-byte box key of a secret key and a peer public key (TweetNaCl's
 * crypto_box_beforenm). Returns null for a low-order peer key (all-zero X25519
 * output), which libsodium refuses too. `cache` says which keys are long-lived
 * (keyring entries); the box key itself is cached only when both are.
 */
export function boxSharedKey (secret: Uint8Array, peerPublic: Uint8Array, cache: { secret: boolean, peer: boolean }): Uint8Array | null {
  const both = cache.secret && cache.peer
  let perSecret: Map<string, Uint8Array> | undefined
  const peerHex = both ? Buffer.from(peerPublic).toString('hex') : ''
  if (both) {
    perSecret = boxKeys.get(secret)
    const hit = perSecret?.get(peerHex)
    if (hit !== undefined) return hit
  }
  let shared: Buffer
  try {
    shared = diffieHellman({ privateKey: privateObject(X25519_PKCS8, secret, cache.secret), publicKey: publicObject(X25519_SPKI, peerPublic, cache.peer) })
  } catch {
    return null // OpenSSL refuses an all-zero shared secret (low-order point)
  }
  const key = new Uint8Array(32)
  hsalsa20(key, ZERO16, shared, SIGMA)
  shared.fill(0)
  if (both) {
    if (perSecret === undefined) { perSecret = new Map(); boxKeys.set(secret, perSecret) }
    if (perSecret.size >= MAX_BOX_KEYS_PER_SECRET) perSecret.clear()
    perSecret.set(peerHex, key)
  }
  return key
}

/** The X25519 public key of a 32-byte secret (crypto_scalarmult_base). */
export function x25519PublicKey (secret: Uint8Array): Uint8Array {
  return publicBytes(createPublicKey(privateObject(X25519_PKCS8, secret, false)))
}

/**
 * The ephemeral public key of `ephemeralSecret` and its box key with
 * `recipientPublic`, for the anonymous mode; null for a low-order recipient key.
 *
 * The secret is imported as JWK, ~9x faster than DER (3,976/s vs 456/s
 * measured): JWK wants the public `x` too, which is what we are computing, so
 * a placeholder goes in; Node derives the key from `d` alone (checked: the
 * derived public key never depends on `x`). Should a Node version insist on a
 * matching `x`, the import falls back to DER. Never generateKeyPairSync: on
 * Node 20.20 a GC during a later JWK export can run its job's destructor and
 * deadlock the process (seen here: stuck in ~KeyGenJob under ExportJWK).
 */
export function ephemeralBoxKey (recipientPublic: Uint8Array, ephemeralSecret: Uint8Array): { ephemeralPublic: Uint8Array, key: Uint8Array } | null {
  let privateKey: KeyObject
  try {
    privateKey = createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: Buffer.from(ephemeralSecret).toString('base64url'), x: PLACEHOLDER_X }, format: 'jwk' })
  } catch {
    privateKey = privateObject(X25519_PKCS8, ephemeralSecret, false)
  }
  let shared: Buffer
  try {
    shared = diffieHellman({ privateKey, publicKey: publicObject(X25519_SPKI, recipientPublic, true) })
  } catch {
    return null
  }
  const key = new Uint8Array(32)
  hsalsa20(key, ZERO16, shared, SIGMA)
  shared.fill(0)
  return { ephemeralPublic: publicBytes(createPublicKey(privateKey)), key }
}

function publicBytes (obj: KeyObject): Uint8Array {
  return new Uint8Array(Buffer.from(obj.export({ format: 'jwk' }).x as string, 'base64url'))
}

/** Ed25519 detached signature with a TweetNaCl 64-byte secret key (seed || public). */
export function ed25519Sign (message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  let obj = signObjects.get(secretKey)
  if (obj === undefined) {
    obj = privateObject(ED25519_PKCS8, secretKey.subarray(0, 32), false)
    signObjects.set(secretKey, obj)
  }
  return new Uint8Array(sign(null, message, obj))
}

/** Verifies an Ed25519 detached signature against a 32-byte public key. */
export function ed25519Verify (message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    return verify(null, message, publicObject(ED25519_SPKI, publicKey, true), signature)
  } catch {
    return false
  }
}
