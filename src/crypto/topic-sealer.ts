// One seal rule of the bridge: seal payloads on the way out (upstream sees only
// ciphertext), open them on the way in. A payload that fails to open throws
// CRYPTO_OPEN_FAILED; the bridge counts and logs it and never forwards it.
import { EdgemqError, ERROR_CODES } from '../errors.ts'
import type { EnvelopeMode } from './envelope-format.ts'
import { readKeyFile } from './key-file.ts'
import type { Key, KeyType } from './keys.ts'
import { EnvelopeOpenError, open } from './open-envelope.ts'
import type { RandomSource } from './random-source.ts'
import { seal } from './seal-envelope.ts'

/** A seal rule as written in the config (bridges[].seal[]; docs/envelope.md). Paths to key files. */
export interface SealRuleConfig {
  /** Topic filters the rule applies to (matched by the bridge). */
  topics: string[]
  mode: EnvelopeMode
  /** secretbox: the shared key file (seal and open). */
  keyFile?: string
  /** box, anonymous: the upstream consumer's box public key; needed to seal. */
  recipientPublicKeyFile?: string
  /** box: this gateway's box secret key (sender when sealing); box, anonymous: the key inbound envelopes are sealed to. */
  secretKeyFile?: string
  /** box: the peers whose inbound envelopes are accepted. */
  senderPublicKeyFiles?: string[]
  /** Optional: sign outbound envelopes with this Ed25519 secret key. */
  signKeyFile?: string
  /** Optional: inbound envelopes must carry a valid signature by one of these Ed25519 public keys. */
  verifyKeyFiles?: string[]
  /** Largest inbound envelope, bytes; default 1 MiB. */
  maxBytes?: number
}

/** A seal rule with its keys loaded. */
export interface TopicSealRule {
  mode: EnvelopeMode
  sharedKey?: Key
  recipientPublicKey?: Key
  secretKey?: Key
  senderPublicKeys?: readonly Key[]
  signKey?: Key
  verifyKeys?: readonly Key[]
  maxBytes?: number
}

/** Seals and opens the payloads of one rule. */
export interface TopicSealer {
  readonly mode: EnvelopeMode
  /** Whether the rule has the keys to seal outbound payloads. */
  readonly canSeal: boolean
  /** Whether the rule has the keys to open inbound payloads. */
  readonly canOpen: boolean
  /** Seals a payload; throws CRYPTO_INVALID when the rule cannot seal. */
  seal: (payload: Buffer) => Buffer
  /** Opens a payload; throws EdgemqError CRYPTO_OPEN_FAILED (an EnvelopeOpenError, with `reason`) on any failure. */
  open: (payload: Buffer) => Buffer
}

/** Builds the sealer of a rule whose keys are loaded; throws CRYPTO_INVALID when the keys fit neither direction. */
export function createTopicSealer (rule: TopicSealRule, options: { random?: RandomSource } = {}): TopicSealer {
  const { mode } = rule
  expect(rule.sharedKey, 'secretbox', 'sharedKey (keyFile)')
  expect(rule.recipientPublicKey, 'box-public', 'recipientPublicKey (recipientPublicKeyFile)')
  expect(rule.secretKey, 'box-secret', 'secretKey (secretKeyFile)')
  for (const k of rule.senderPublicKeys ?? []) expect(k, 'box-public', 'senderPublicKeys (senderPublicKeyFiles)')
  expect(rule.signKey, 'sign-secret', 'signKey (signKeyFile)')
  for (const k of rule.verifyKeys ?? []) expect(k, 'sign-public', 'verifyKeys (verifyKeyFiles)')

  const senders = rule.senderPublicKeys ?? []
  let canSeal: boolean
  let canOpen: boolean
  if (mode === 'secretbox') {
    canSeal = canOpen = rule.sharedKey !== undefined
    if (!canSeal) invalid('mode secretbox needs keyFile (a shared key made with edgemq keygen --type secretbox)')
  } else if (mode === 'box') {
    canSeal = rule.recipientPublicKey !== undefined && rule.secretKey !== undefined
    canOpen = rule.secretKey !== undefined && senders.length > 0
    if (!canSeal && !canOpen) invalid('mode box needs secretKeyFile plus recipientPublicKeyFile (to seal) and/or senderPublicKeyFiles (to open)')
  } else if (mode === 'anonymous') {
    canSeal = rule.recipientPublicKey !== undefined
    canOpen = rule.secretKey !== undefined
    if (!canSeal && !canOpen) invalid('mode anonymous needs recipientPublicKeyFile (to seal) and/or secretKeyFile (to open)')
  } else {
    invalid(`mode must be secretbox, box or anonymous: got "${String(mode)}"`)
  }

  const openKeys: Key[] = [
    ...(rule.sharedKey === undefined ? [] : [rule.sharedKey]),
    ...(rule.secretKey === undefined ? [] : [rule.secretKey]),
    ...senders,
    ...(rule.verifyKeys ?? [])
  ]
  const sealOptions = mode === 'secretbox'
    ? { key: rule.sharedKey, sign: rule.signKey, random: options.random }
    : { to: rule.recipientPublicKey, from: mode === 'box' ? rule.secretKey : undefined, sign: rule.signKey, random: options.random }

  return {
    mode,
    canSeal,
    canOpen,
    seal (payload) {
      if (!canSeal) invalid(`this ${mode} rule has no key to seal with: set ${mode === 'box' ? 'recipientPublicKeyFile and secretKeyFile' : 'recipientPublicKeyFile'}`)
      const out = seal(payload, sealOptions)
      return Buffer.from(out.buffer, out.byteOffset, out.byteLength)
    },
    open (payload) {
      if (!canOpen) throw new EnvelopeOpenError('unknown-key', `this ${mode} rule has no key to open with: set ${mode === 'box' ? 'secretKeyFile and senderPublicKeyFiles' : 'secretKeyFile'}`)
      // Only this rule's mode is accepted: a rule for authenticated senders (box)
      // must not accept an anonymous envelope sealed to the same key.
      const result = open(payload, { keys: openKeys, modes: [mode], requireSignature: (rule.verifyKeys ?? []).length > 0, maxBytes: rule.maxBytes })
      return Buffer.from(result.plaintext.buffer, result.plaintext.byteOffset, result.plaintext.byteLength)
    }
  }
}

/** Reads the key files of a rule (secret ones must be 0600) and builds its sealer. */
export async function loadTopicSealer (config: SealRuleConfig, options: { random?: RandomSource } = {}): Promise<TopicSealer> {
  const read = async (path: string | undefined, type: KeyType): Promise<Key | undefined> => path === undefined ? undefined : await readKeyFile(path, type)
  const rule: TopicSealRule = {
    mode: config.mode,
    sharedKey: await read(config.keyFile, 'secretbox'),
    recipientPublicKey: await read(config.recipientPublicKeyFile, 'box-public'),
    secretKey: await read(config.secretKeyFile, 'box-secret'),
    senderPublicKeys: await Promise.all((config.senderPublicKeyFiles ?? []).map(async (p) => await readKeyFile(p, 'box-public'))),
    signKey: await read(config.signKeyFile, 'sign-secret'),
    verifyKeys: await Promise.all((config.verifyKeyFiles ?? []).map(async (p) => await readKeyFile(p, 'sign-public'))),
    maxBytes: config.maxBytes
  }
  return createTopicSealer(rule, options)
}

function expect (key: Key | undefined, type: KeyType, what: string): void {
  if (key !== undefined && key.type !== type) invalid(`${what} must be a ${type} key: got a ${key.type} key (id ${key.id})`)
}

function invalid (message: string): never {
  throw new EdgemqError(ERROR_CODES.CRYPTO_INVALID, `seal rule: ${message}`)
}
