// Builds the known-answer vectors of test/crypto/vectors.json from fixed keys
// and fixed random draws. A C port (TweetNaCl, libsodium) reads the JSON, not
// this file: every input and output is there in hex.
//
//   node --import tsx test/crypto/vectors.ts --write   regenerate vectors.json
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import nacl from 'tweetnacl'
import { createFixedRandom, createValueCipher, KEY_ID_LABEL, makeKey, publicKeyOf, seal, toHex, type Key } from '../../src/crypto/index.ts'

/** Path of the committed vectors. */
export const VECTORS_PATH = fileURLToPath(new URL('./vectors.json', import.meta.url))

/** 32 fixed bytes named by a label: the first half of SHA-512(label). Documented in the JSON. */
function fixedBytes (label: string, n = 32): Uint8Array {
  return nacl.hash(new TextEncoder().encode(label)).subarray(0, n)
}

/** The fixed keys every vector uses, by name. */
export function vectorKeys (): Record<string, Key> {
  const shared = makeKey('secretbox', fixedBytes('edgemq vectors shared key'))
  const sensorBox = makeKey('box-secret', fixedBytes('edgemq vectors sensor box key'))
  const cloudBox = makeKey('box-secret', fixedBytes('edgemq vectors cloud box key'))
  const signer = makeKey('sign-secret', nacl.sign.keyPair.fromSeed(fixedBytes('edgemq vectors sensor sign seed')).secretKey)
  return {
    shared,
    sensorBoxSecret: sensorBox,
    sensorBoxPublic: publicKeyOf(sensorBox),
    cloudBoxSecret: cloudBox,
    cloudBoxPublic: publicKeyOf(cloudBox),
    sensorSignSecret: signer,
    sensorSignPublic: publicKeyOf(signer)
  }
}

interface VectorSpec {
  name: string
  key?: string
  to?: string
  from?: string
  sign?: string
  plaintext: Uint8Array
  /** Keys (by name) that open it. */
  openWith: string[]
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s)
const READING = text('{"t":21.5,"h":40.2,"id":"greenhouse-3"}')
const LONG = Uint8Array.from({ length: 200 }, (_, i) => i & 0xff) // crosses three 64-byte Salsa20 blocks

const SPECS: VectorSpec[] = [
  { name: 'secretbox-empty', key: 'shared', plaintext: new Uint8Array(0), openWith: ['shared'] },
  { name: 'secretbox-reading', key: 'shared', plaintext: READING, openWith: ['shared'] },
  { name: 'secretbox-200-bytes', key: 'shared', plaintext: LONG, openWith: ['shared'] },
  { name: 'box-reading', to: 'cloudBoxPublic', from: 'sensorBoxSecret', plaintext: READING, openWith: ['cloudBoxSecret', 'sensorBoxPublic'] },
  { name: 'anonymous-empty', to: 'cloudBoxPublic', plaintext: new Uint8Array(0), openWith: ['cloudBoxSecret'] },
  { name: 'anonymous-reading', to: 'cloudBoxPublic', plaintext: READING, openWith: ['cloudBoxSecret'] },
  { name: 'secretbox-reading-signed', key: 'shared', sign: 'sensorSignSecret', plaintext: READING, openWith: ['shared', 'sensorSignPublic'] },
  { name: 'box-reading-signed', to: 'cloudBoxPublic', from: 'sensorBoxSecret', sign: 'sensorSignSecret', plaintext: READING, openWith: ['cloudBoxSecret', 'sensorBoxPublic', 'sensorSignPublic'] },
  { name: 'anonymous-reading-signed', to: 'cloudBoxPublic', sign: 'sensorSignSecret', plaintext: READING, openWith: ['cloudBoxSecret', 'sensorSignPublic'] }
]

/** The whole vectors document, deterministic. */
export function buildVectors (): Record<string, unknown> {
  const keys = vectorKeys()
  const keyTable: Record<string, unknown> = {}
  for (const [name, k] of Object.entries(keys)) keyTable[name] = { type: k.type, hex: toHex(k.bytes), id: k.id }

  const vectors = SPECS.map((spec, i) => {
    const anonymous = spec.to !== undefined && spec.from === undefined
    const nonce = fixedBytes(`edgemq vectors nonce ${i}`, 24)
    const ephemeralSecret = anonymous ? fixedBytes(`edgemq vectors ephemeral ${i}`) : undefined
    const draws = ephemeralSecret === undefined ? [nonce] : [ephemeralSecret, nonce]
    const envelope = seal(spec.plaintext, {
      key: spec.key === undefined ? undefined : keys[spec.key],
      to: spec.to === undefined ? undefined : keys[spec.to],
      from: spec.from === undefined ? undefined : keys[spec.from],
      sign: spec.sign === undefined ? undefined : keys[spec.sign],
      random: createFixedRandom(draws)
    })
    return {
      name: spec.name,
      mode: spec.key !== undefined ? 'secretbox' : anonymous ? 'anonymous' : 'box',
      seal: { key: spec.key, to: spec.to, from: spec.from, sign: spec.sign },
      openWith: spec.openWith,
      plaintextHex: toHex(spec.plaintext),
      nonceHex: toHex(nonce),
      ephemeralSecretHex: ephemeralSecret === undefined ? undefined : toHex(ephemeralSecret),
      ephemeralPublicHex: ephemeralSecret === undefined ? undefined : toHex(nacl.box.keyPair.fromSecretKey(ephemeralSecret).publicKey),
      randomDrawsHex: draws.map(toHex),
      envelopeHex: toHex(envelope)
    }
  })

  const byName = (n: string): string => (vectors.find((v) => v.name === n) as { envelopeHex: string }).envelopeHex
  const patch = (hex: string, at: number, byte: number): string => hex.slice(0, at * 2) + byte.toString(16).padStart(2, '0') + hex.slice(at * 2 + 2)
  const reading = byName('secretbox-reading')
  const signedReading = byName('secretbox-reading-signed')
  const invalid = [
    { name: 'plaintext-json', envelopeHex: toHex(READING), openWith: ['shared'], reason: 'not-envelope' },
    { name: 'version-2', envelopeHex: patch(reading, 2, 0x02), openWith: ['shared'], reason: 'unknown-version' },
    { name: 'mode-9', envelopeHex: patch(reading, 3, 0x09), openWith: ['shared'], reason: 'unknown-mode' },
    { name: 'reserved-flag-bit', envelopeHex: patch(reading, 4, 0x02), openWith: ['shared'], reason: 'bad-flags' },
    { name: 'truncated-header', envelopeHex: reading.slice(0, 40 * 2), openWith: ['shared'], reason: 'truncated' },
    { name: 'tag-flipped', envelopeHex: patch(reading, 37, parseInt(reading.slice(74, 76), 16) ^ 0x01), openWith: ['shared'], reason: 'decrypt-failed' },
    { name: 'last-byte-cut', envelopeHex: reading.slice(0, -2), openWith: ['shared'], reason: 'decrypt-failed' },
    { name: 'wrong-key-id', envelopeHex: patch(reading, 5, parseInt(reading.slice(10, 12), 16) ^ 0xff), openWith: ['shared'], reason: 'unknown-key' },
    { name: 'signature-flipped', envelopeHex: patch(signedReading, signedReading.length / 2 - 1, parseInt(signedReading.slice(-2), 16) ^ 0x01), openWith: ['shared', 'sensorSignPublic'], reason: 'bad-signature' },
    { name: 'unsigned-but-verify-key-given', envelopeHex: reading, openWith: ['shared', 'sensorSignPublic'], reason: 'signature-required' }
  ]

  const deviceKey = keys.shared.bytes
  const valueNonce = fixedBytes('edgemq vectors at-rest nonce', 24)
  const atRest = {
    deviceKey: 'shared',
    plaintextHex: toHex(READING),
    nonceHex: toHex(valueNonce),
    sealedHex: toHex(createValueCipher(deviceKey, { random: createFixedRandom([valueNonce]) }).seal(READING))
  }

  return {
    format: 'edgemq envelope version 1: known-answer vectors',
    spec: 'docs/envelope.md',
    keyIdLabel: KEY_ID_LABEL,
    keyIdRule: 'id = first 8 bytes of SHA-512(label || typeByte || publicOrSharedKey); typeByte 01 secretbox key, 02 box public key, 03 Ed25519 public key',
    fixedBytesRule: 'every fixed key, nonce and ephemeral secret below is the first 32 (or 24) bytes of SHA-512 of an ASCII label; only the hex matters',
    keys: keyTable,
    vectors,
    invalid,
    atRest
  }
}

/** The JSON text written to vectors.json. */
export function vectorsJson (): string {
  return JSON.stringify(buildVectors(), null, 2) + '\n'
}

/** The committed vectors, parsed. */
export function readCommittedVectors (): ReturnType<typeof buildVectors> {
  return JSON.parse(readFileSync(VECTORS_PATH, 'utf8'))
}

if (process.argv.includes('--write') && process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(VECTORS_PATH, vectorsJson())
  console.log(`wrote ${VECTORS_PATH}`)
}
