// The edgemq envelope, version 1, byte by byte (docs/envelope.md is the spec;
// this file is its code). Pure: no keys, no randomness, no I/O, so a C port
// can follow it line by line.
//
//   off  len  field
//   0    2    magic "EM" (0x45 0x4d)
//   2    1    version (0x01)
//   3    1    mode: 0x01 secretbox, 0x02 box, 0x03 anonymous
//   4    1    flags: bit 0 = signed; bits 1-7 must be 0
//   5    8    key id of the key that opens it (shared key, or recipient box public key)
//   +    8    box only: key id of the sender's box public key
//   +    32   anonymous only: ephemeral X25519 public key
//   +    8    signed only: key id of the signer's Ed25519 public key
//   +    24   nonce
//   +    n+16 ciphertext: Poly1305 tag (16) then XSalsa20 stream output (n)
//   +    64   signed only: Ed25519 signature over every byte before it

/** "EM": lets `open` tell an envelope from a plaintext payload with a clear error. */
export const ENVELOPE_MAGIC = Uint8Array.of(0x45, 0x4d)
/** The only envelope version this code writes and reads. */
export const ENVELOPE_VERSION = 1

/** Mode bytes on the wire. */
export const ENVELOPE_MODES = { secretbox: 0x01, box: 0x02, anonymous: 0x03 } as const
/** An envelope mode name. */
export type EnvelopeMode = keyof typeof ENVELOPE_MODES

/** Flag bits; every other bit must be 0 so a future flag is refused, not ignored. */
export const ENVELOPE_FLAGS = { signed: 0x01 } as const

/** Field sizes in bytes (NaCl's constants; the same in TweetNaCl C and libsodium). */
export const SIZES = {
  fixedHeader: 5,
  keyId: 8,
  publicKey: 32,
  nonce: 24,
  tag: 16,
  signature: 64
} as const

/**
 * Default largest envelope `open` accepts: 1 MiB. Bigger than any sensor
 * reading or limits.maxPacketSize default (256 KB), small enough that
 * tweetnacl's working copies (about 3x the size) stay cheap on a Pi Zero.
 */
export const DEFAULT_MAX_ENVELOPE_BYTES = 1024 * 1024
/** Hard ceiling for the maxBytes option: MQTT's own packet limit (256 MB) minus nothing edgemq needs. */
export const MAX_ENVELOPE_BYTES_CEILING = 256 * 1024 * 1024

/** The parsed header of an envelope: where each field sits and what it says. */
export interface EnvelopeHeader {
  version: number
  mode: EnvelopeMode
  signed: boolean
  /** Key id of the key that opens the envelope (8 bytes). */
  keyId: Uint8Array
  /** box: key id of the sender's box public key. */
  senderKeyId?: Uint8Array
  /** anonymous: the ephemeral X25519 public key. */
  ephemeralPublicKey?: Uint8Array
  /** signed: key id of the signer's Ed25519 public key. */
  signerKeyId?: Uint8Array
  nonce: Uint8Array
  /** Ciphertext including its 16-byte tag. */
  ciphertext: Uint8Array
  /** signed: the 64-byte signature. */
  signature?: Uint8Array
  /** Bytes the signature covers (everything before it). */
  signedPart: Uint8Array
}

/** Why an envelope could not be parsed or opened; stable, for counters and tests. */
export type OpenFailureReason =
  | 'too-large' | 'not-envelope' | 'unknown-version' | 'unknown-mode' | 'bad-flags' | 'truncated'
  | 'mode-not-allowed' | 'signature-required' | 'unknown-signer' | 'bad-signature'
  | 'unknown-key' | 'unknown-sender' | 'bad-ephemeral-key' | 'decrypt-failed'

/** A parse failure: the stable reason and a message that says what was seen and the fix. */
export interface ParseFailure { reason: OpenFailureReason, message: string }

/** Bytes of header before the nonce for a mode and signature flag. */
export function headerLength (mode: EnvelopeMode, signed: boolean): number {
  let n = SIZES.fixedHeader + SIZES.keyId
  if (mode === 'box') n += SIZES.keyId
  if (mode === 'anonymous') n += SIZES.publicKey
  if (signed) n += SIZES.keyId
  return n
}

/** Total envelope size for a plaintext of `plainLength` bytes. */
export function envelopeLength (mode: EnvelopeMode, signed: boolean, plainLength: number): number {
  return headerLength(mode, signed) + SIZES.nonce + SIZES.tag + plainLength + (signed ? SIZES.signature : 0)
}

/** The fields `encodeHeader` writes. */
export interface HeaderFields {
  mode: EnvelopeMode
  keyId: Uint8Array
  senderKeyId?: Uint8Array
  ephemeralPublicKey?: Uint8Array
  signerKeyId?: Uint8Array
  nonce: Uint8Array
}

/** Writes magic, version, mode, flags, key ids, ephemeral key and nonce; returns the bytes. */
export function encodeHeader (fields: HeaderFields): Uint8Array {
  const signed = fields.signerKeyId !== undefined
  const out = new Uint8Array(headerLength(fields.mode, signed) + SIZES.nonce)
  out.set(ENVELOPE_MAGIC, 0)
  out[2] = ENVELOPE_VERSION
  out[3] = ENVELOPE_MODES[fields.mode]
  out[4] = signed ? ENVELOPE_FLAGS.signed : 0
  let at = SIZES.fixedHeader
  const put = (bytes: Uint8Array | undefined, size: number, what: string): void => {
    if (bytes === undefined || bytes.length !== size) throw new RangeError(`envelope ${what} must be ${size} bytes: got ${bytes?.length ?? 'none'}`)
    out.set(bytes, at)
    at += size
  }
  put(fields.keyId, SIZES.keyId, 'key id')
  if (fields.mode === 'box') put(fields.senderKeyId, SIZES.keyId, 'sender key id')
  if (fields.mode === 'anonymous') put(fields.ephemeralPublicKey, SIZES.publicKey, 'ephemeral public key')
  if (signed) put(fields.signerKeyId, SIZES.keyId, 'signer key id')
  put(fields.nonce, SIZES.nonce, 'nonce')
  return out
}

/** Splits an envelope into its fields, checking size, magic, version, mode and flags; never throws. */
export function parseEnvelope (bytes: Uint8Array, maxBytes = DEFAULT_MAX_ENVELOPE_BYTES): EnvelopeHeader | ParseFailure {
  if (bytes.length > maxBytes) {
    return fail('too-large', `envelope is ${bytes.length} bytes, over the ${maxBytes}-byte limit: raise maxBytes (--max-bytes) if such payloads are expected`)
  }
  if (bytes.length < SIZES.fixedHeader || bytes[0] !== ENVELOPE_MAGIC[0] || bytes[1] !== ENVELOPE_MAGIC[1]) {
    return fail('not-envelope', `not an edgemq envelope: first bytes are ${hexPrefix(bytes)}, expected 45 4d ("EM") then version 01${looksLikeText(bytes) ? '; the payload looks like plaintext (was it sealed?)' : ''}`)
  }
  const version = bytes[2]
  if (version !== ENVELOPE_VERSION) {
    return fail('unknown-version', `envelope version ${version} is not supported (this edgemq reads version ${ENVELOPE_VERSION}): upgrade edgemq on the side that opens it, or seal with version ${ENVELOPE_VERSION}`)
  }
  const mode = (Object.keys(ENVELOPE_MODES) as EnvelopeMode[]).find((m) => ENVELOPE_MODES[m] === bytes[3])
  if (mode === undefined) {
    return fail('unknown-mode', `envelope mode byte 0x${hex2(bytes[3])} is unknown: expected 01 (secretbox), 02 (box) or 03 (anonymous)`)
  }
  const flags = bytes[4]
  if ((flags & ~ENVELOPE_FLAGS.signed) !== 0) {
    return fail('bad-flags', `envelope flags 0x${hex2(flags)} set reserved bits: only bit 0 (signed) is defined in version ${ENVELOPE_VERSION}`)
  }
  const signed = (flags & ENVELOPE_FLAGS.signed) !== 0
  const min = envelopeLength(mode, signed, 0)
  if (bytes.length < min) {
    return fail('truncated', `envelope is truncated: ${bytes.length} bytes, a ${signed ? 'signed ' : ''}${mode} envelope has at least ${min}`)
  }
  let at = SIZES.fixedHeader
  const take = (size: number): Uint8Array => { const v = bytes.subarray(at, at + size); at += size; return v }
  const keyId = take(SIZES.keyId)
  const senderKeyId = mode === 'box' ? take(SIZES.keyId) : undefined
  const ephemeralPublicKey = mode === 'anonymous' ? take(SIZES.publicKey) : undefined
  const signerKeyId = signed ? take(SIZES.keyId) : undefined
  const nonce = take(SIZES.nonce)
  const end = bytes.length - (signed ? SIZES.signature : 0)
  const ciphertext = bytes.subarray(at, end)
  const signature = signed ? bytes.subarray(end) : undefined
  return { version, mode, signed, keyId, senderKeyId, ephemeralPublicKey, signerKeyId, nonce, ciphertext, signature, signedPart: bytes.subarray(0, end) }
}

const FIELD_PRIME = (1n << 255n) - 19n
const GROUP_ORDER = (1n << 252n) + 27742317777372353535851937790883648493n

/**
 * Whether 32 little-endian bytes are a canonical X25519 coordinate (< 2^255-19).
 * X25519 ignores bit 255 and reduces mod p, so without this check one
 * ephemeral key would have several encodings and a flipped bit would still open.
 * Honest senders always produce canonical keys (crypto_scalarmult_base output).
 */
export function isCanonicalPublicKey (bytes: Uint8Array): boolean {
  return bytes.length === 32 && littleEndian(bytes) < FIELD_PRIME
}

/**
 * Whether an Ed25519 signature's S half is below the group order L (RFC 8032
 * 5.1.7). TweetNaCl does not check it, so S+L would verify too: refusing it
 * keeps every envelope to one valid encoding.
 */
export function isCanonicalSignature (signature: Uint8Array): boolean {
  return signature.length === 64 && littleEndian(signature.subarray(32)) < GROUP_ORDER
}

function littleEndian (bytes: Uint8Array): bigint {
  let n = 0n
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i])
  return n
}

/** Whether a parse result is a failure. */
export function isParseFailure (v: EnvelopeHeader | ParseFailure): v is ParseFailure {
  return 'reason' in v
}

function fail (reason: OpenFailureReason, message: string): ParseFailure {
  return { reason, message }
}

function hex2 (n: number): string {
  return n.toString(16).padStart(2, '0')
}

function hexPrefix (bytes: Uint8Array): string {
  if (bytes.length === 0) return '(empty)'
  return Array.from(bytes.subarray(0, 5), hex2).join(' ')
}

function looksLikeText (bytes: Uint8Array): boolean {
  const head = bytes.subarray(0, 16)
  return head.length > 0 && head.every((b) => b === 0x09 || b === 0x0a || b === 0x0d || (b >= 0x20 && b < 0x7f))
}
