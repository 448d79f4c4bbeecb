// Opening: envelope -> plaintext, or EnvelopeOpenError with a stable reason.
// Every check happens before any plaintext exists; on failure no bytes of
// plaintext are returned, logged or kept.
import nacl from 'tweetnacl'
import { EdgemqError, ERROR_CODES } from '../errors.ts'
import { boxSharedKey, ed25519Verify } from './curve-ops.ts'
import { DEFAULT_MAX_ENVELOPE_BYTES, isCanonicalPublicKey, isCanonicalSignature, isParseFailure, MAX_ENVELOPE_BYTES_CEILING, parseEnvelope, type EnvelopeMode, type OpenFailureReason } from './envelope-format.ts'
import { toHex, type Key, type KeyType } from './keys.ts'

/** What `open` may use and accept. */
export interface OpenOptions {
  /**
   * The keyring. Each key is used in the role its type implies: secretbox keys
   * open shared-key envelopes, box-secret keys open box and anonymous envelopes
   * sealed to them, box-public keys are the senders accepted in box mode, and
   * sign-public keys are the signers accepted. The envelope's key ids pick the key.
   */
  keys: readonly Key[]
  /** Modes accepted; default all three. A rule expecting box refuses anonymous envelopes. */
  modes?: readonly EnvelopeMode[]
  /** Refuse unsigned envelopes. Default: true when `keys` holds a sign-public key (so a stripped signature is caught). */
  requireSignature?: boolean
  /** Largest envelope accepted, checked first; default 1 MiB. */
  maxBytes?: number
}

/** An opened envelope: the plaintext and who it says made it (all ids verified). */
export interface OpenResult {
  plaintext: Uint8Array
  mode: EnvelopeMode
  /** Id of the key that opened it. */
  keyId: string
  /** box mode: id of the authenticated sender's box public key. */
  senderKeyId?: string
  /** Signed envelopes: id of the Ed25519 key whose signature verified. */
  signerKeyId?: string
}

/** An envelope that did not open: code CRYPTO_OPEN_FAILED, and `reason` says why (for counters and tests). */
export class EnvelopeOpenError extends EdgemqError {
  readonly reason: OpenFailureReason
  constructor (reason: OpenFailureReason, message: string) {
    super(ERROR_CODES.CRYPTO_OPEN_FAILED, `cannot open envelope (${reason}): ${message}`, { problems: [reason] })
    this.name = 'EnvelopeOpenError'
    this.reason = reason
  }
}

/**
 * Opens a version-1 envelope. Checks, in order: size limit, magic, version,
 * mode, reserved flag bits, length, mode allowed, signature (verified before
 * decryption), key ids against the keyring, then the Poly1305 tag.
 * Throws EnvelopeOpenError (CRYPTO_OPEN_FAILED) on any failure; never returns
 * partial or unauthenticated plaintext.
 */
export function open (envelope: Uint8Array, options: OpenOptions): OpenResult {
  if (!(envelope instanceof Uint8Array)) throw new EnvelopeOpenError('not-envelope', `envelope must be bytes (Uint8Array or Buffer): got ${typeof envelope}`)
  const keys = options.keys ?? []
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_ENVELOPE_BYTES
  if (!Number.isInteger(maxBytes) || maxBytes < 1 || maxBytes > MAX_ENVELOPE_BYTES_CEILING) {
    throw new EdgemqError(ERROR_CODES.CRYPTO_INVALID, `maxBytes must be a whole number from 1 to ${MAX_ENVELOPE_BYTES_CEILING}: got ${String(maxBytes)}`)
  }
  const env = parseEnvelope(envelope, maxBytes)
  if (isParseFailure(env)) throw new EnvelopeOpenError(env.reason, env.message)

  const modes = options.modes ?? ['secretbox', 'box', 'anonymous']
  if (!modes.includes(env.mode)) {
    throw new EnvelopeOpenError('mode-not-allowed', `envelope mode is ${env.mode}, only ${modes.join(', ')} accepted here`)
  }

  let signerKeyId: string | undefined
  const requireSignature = options.requireSignature ?? keys.some((k) => k.type === 'sign-public')
  if (env.signed) {
    const id = toHex(env.signerKeyId as Uint8Array)
    const signer = find(keys, 'sign-public', id)
    if (signer === undefined) {
      throw new EnvelopeOpenError('unknown-signer', `envelope is signed by key id ${id}, and no sign-public key with that id was given: pass the signer's public key (--verify FILE)`)
    }
    if (!isCanonicalSignature(env.signature as Uint8Array) || !ed25519Verify(env.signedPart, env.signature as Uint8Array, signer.bytes)) {
      throw new EnvelopeOpenError('bad-signature', `the Ed25519 signature by key id ${id} does not verify: the envelope was altered after signing, or signed by another key`)
    }
    signerKeyId = id
  } else if (requireSignature) {
    throw new EnvelopeOpenError('signature-required', 'envelope is not signed, and a signature is required here (a verify key was given): seal it with --sign, or drop the verify key')
  }

  const id = toHex(env.keyId)
  let plaintext: Uint8Array | null
  let senderKeyId: string | undefined
  if (env.mode === 'secretbox') {
    const key = find(keys, 'secretbox', id)
    if (key === undefined) throw new EnvelopeOpenError('unknown-key', `envelope was sealed with shared key id ${id}, and no secretbox key with that id was given${idsOf(keys, 'secretbox')}`)
    plaintext = nacl.secretbox.open(env.ciphertext, env.nonce, key.bytes)
  } else {
    const key = find(keys, 'box-secret', id)
    if (key === undefined) throw new EnvelopeOpenError('unknown-key', `envelope is sealed to box key id ${id}, and no box-secret key with that id was given${idsOf(keys, 'box-secret')}`)
    let boxKey: Uint8Array | null
    if (env.mode === 'box') {
      senderKeyId = toHex(env.senderKeyId as Uint8Array)
      const sender = find(keys, 'box-public', senderKeyId)
      if (sender === undefined) throw new EnvelopeOpenError('unknown-sender', `envelope is from sender key id ${senderKeyId}, and no box-public key with that id was given: pass the sender's public key (--from FILE)`)
      boxKey = boxSharedKey(key.bytes, sender.bytes, { secret: true, peer: true })
      if (boxKey === null) throw new EnvelopeOpenError('unknown-sender', `sender key id ${senderKeyId} is a low-order X25519 point: that public key file is corrupt or hostile`)
    } else {
      const ephemeral = env.ephemeralPublicKey as Uint8Array
      if (!isCanonicalPublicKey(ephemeral)) throw new EnvelopeOpenError('bad-ephemeral-key', 'the ephemeral public key is not a canonical X25519 key (>= 2^255-19, e.g. bit 255 set): the envelope was altered')
      boxKey = boxSharedKey(key.bytes, ephemeral, { secret: true, peer: false })
      if (boxKey === null) throw new EnvelopeOpenError('bad-ephemeral-key', 'the ephemeral public key is a low-order X25519 point (all-zero shared secret): the envelope is forged')
    }
    plaintext = nacl.secretbox.open(env.ciphertext, env.nonce, boxKey)
    if (env.mode === 'anonymous') boxKey.fill(0)
  }
  if (plaintext === null) {
    throw new EnvelopeOpenError('decrypt-failed', `authentication failed under key id ${id}: the ciphertext, nonce${env.mode === 'anonymous' ? ', ephemeral key' : ''} or key id was altered or truncated, or it was sealed with another key`)
  }
  return { plaintext, mode: env.mode, keyId: id, senderKeyId, signerKeyId }
}

function find (keys: readonly Key[], type: KeyType, id: string): Key | undefined {
  return keys.find((k) => k.type === type && k.id === id)
}

function idsOf (keys: readonly Key[], type: KeyType): string {
  const ids = keys.filter((k) => k.type === type).map((k) => k.id)
  return ids.length === 0 ? `: pass the ${type} key (--key FILE)` : ` (have ${ids.join(', ')}): pass the right ${type} key (--key FILE)`
}
