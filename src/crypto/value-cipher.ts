// Encryption at rest: LevelDB values (queued messages, retained payloads,
// bridge queue) sealed with a device key, so a stolen SD card shows only
// ciphertext. The persistence and bridge parts take a ValueCipher.
//
// Stored value layout (41 + 4 bytes of overhead):
//   off len  field
//   0   1    format 0x01
//   1   4    first 4 bytes of the device key's id (says "wrong key" rather than "corrupt")
//   5   24   random nonce (192 bits: random nonces never repeat in practice under one key)
//   29  n+16 nacl.secretbox(value, nonce, deviceKey)
import nacl from 'tweetnacl'
import { EdgemqError, ERROR_CODES } from '../errors.ts'
import { readKeyFile, writeKeyFile } from './key-file.ts'
import { fromHex, keygen, makeKey } from './keys.ts'
import { defaultRandom, type RandomSource } from './random-source.ts'

/** Seals and opens single stored values; what persistence accepts as `valueCipher`. */
export interface ValueCipher {
  /** Seals one value: a fresh random nonce each call. */
  seal: (plain: Uint8Array) => Uint8Array
  /** Opens one sealed value; throws EdgemqError CRYPTO_OPEN_FAILED when it was altered or sealed under another key. */
  open: (sealed: Uint8Array) => Uint8Array
}

/** Format byte of a sealed value. */
export const VALUE_FORMAT = 0x01
const KEY_ID_PREFIX = 4
const HEADER = 1 + KEY_ID_PREFIX + nacl.secretbox.nonceLength
/** Bytes a sealed value adds to the plain one. */
export const VALUE_OVERHEAD = HEADER + nacl.secretbox.overheadLength

/** A ValueCipher over a 32-byte device key (XSalsa20-Poly1305, random nonce per value). */
export function createValueCipher (deviceKey: Uint8Array, options: { random?: RandomSource } = {}): ValueCipher {
  const key = makeKey('secretbox', deviceKey) // checks the length, computes the id
  const keyBytes = key.bytes
  const idPrefix = fromHex(key.id).subarray(0, KEY_ID_PREFIX)
  const random = options.random ?? defaultRandom
  return {
    seal (plain) {
      const nonce = random(nacl.secretbox.nonceLength)
      const box = nacl.secretbox(plain, nonce, keyBytes)
      const out = new Uint8Array(HEADER + box.length)
      out[0] = VALUE_FORMAT
      out.set(idPrefix, 1)
      out.set(nonce, 1 + KEY_ID_PREFIX)
      out.set(box, HEADER)
      return out
    },
    open (sealed) {
      if (!(sealed instanceof Uint8Array) || sealed.length < VALUE_OVERHEAD) {
        throw fail(`stored value is ${sealed instanceof Uint8Array ? `${sealed.length} bytes` : typeof sealed}, shorter than the ${VALUE_OVERHEAD}-byte sealed minimum: it is not sealed (encryption at rest turned on over a plain store?) or truncated`)
      }
      if (sealed[0] !== VALUE_FORMAT) throw fail(`stored value has format byte 0x${sealed[0].toString(16).padStart(2, '0')}, expected 0x01: not a sealed value, or written by a newer edgemq`)
      if (!nacl.verify(sealed.subarray(1, 1 + KEY_ID_PREFIX), idPrefix)) {
        throw fail(`stored value was sealed under device key id ${Buffer.from(sealed.subarray(1, 1 + KEY_ID_PREFIX)).toString('hex')}..., this device key is ${key.id}: point the config at the key file the store was written with`)
      }
      const plain = nacl.secretbox.open(sealed.subarray(HEADER), sealed.subarray(1 + KEY_ID_PREFIX, HEADER), keyBytes)
      if (plain === null) throw fail(`stored value does not authenticate under device key ${key.id}: it was altered or corrupted on disk`)
      return plain
    }
  }
}

/**
 * Reads the device key from a secretbox key file (refused unless mode 0600),
 * or creates one (0600, atomically) when the file does not exist yet.
 */
export async function loadOrCreateDeviceKey (path: string, options: { random?: RandomSource } = {}): Promise<Uint8Array> {
  try {
    return (await readKeyFile(path, 'secretbox')).bytes
  } catch (err) {
    if (!(err instanceof EdgemqError) || (err.cause as NodeJS.ErrnoException | undefined)?.code !== 'ENOENT') throw err
  }
  const { secret } = keygen('secretbox', options.random)
  try {
    await writeKeyFile(path, secret)
  } catch (err) {
    // Another process created it between our read and write: use theirs.
    if (err instanceof EdgemqError && (err.cause as NodeJS.ErrnoException | undefined)?.code === 'EEXIST') return (await readKeyFile(path, 'secretbox')).bytes
    throw err
  }
  return secret.bytes
}

function fail (message: string): EdgemqError {
  return new EdgemqError(ERROR_CODES.CRYPTO_OPEN_FAILED, message)
}
