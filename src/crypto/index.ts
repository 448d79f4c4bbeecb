// `edgemq/crypto`: the library export for Node clients (sensors' companions,
// upstream consumers) and the parts of the broker that seal and open.
// Spec of every byte: docs/envelope.md.
export {
  ENVELOPE_MAGIC, ENVELOPE_VERSION, ENVELOPE_MODES, ENVELOPE_FLAGS, SIZES, DEFAULT_MAX_ENVELOPE_BYTES,
  MAX_ENVELOPE_BYTES_CEILING, envelopeLength, headerLength, parseEnvelope, isParseFailure
} from './envelope-format.ts'
export type { EnvelopeMode, EnvelopeHeader, OpenFailureReason, ParseFailure } from './envelope-format.ts'
export { KEY_TYPES, KEY_LENGTHS, KEY_ID_LABEL, computeKeyId, keyId, makeKey, publicKeyOf, keygen, isSecretType, toHex, fromHex } from './keys.ts'
export type { Key, KeyType, KeygenType } from './keys.ts'
export { formatKeyFile, parseKeyFile, readKeyFile, writeKeyFile, KEY_FILE_TAG, KEY_FILE_VERSION } from './key-file.ts'
export { seal, sealMode } from './seal-envelope.ts'
export type { SealOptions } from './seal-envelope.ts'
export { open, EnvelopeOpenError } from './open-envelope.ts'
export type { OpenOptions, OpenResult } from './open-envelope.ts'
export { createFixedRandom, defaultRandom } from './random-source.ts'
export type { RandomSource } from './random-source.ts'
export { createValueCipher, loadOrCreateDeviceKey, VALUE_OVERHEAD, VALUE_FORMAT } from './value-cipher.ts'
export type { ValueCipher } from './value-cipher.ts'
export { createTopicSealer, loadTopicSealer } from './topic-sealer.ts'
export type { SealRuleConfig, TopicSealRule, TopicSealer } from './topic-sealer.ts'
export { EdgemqError, ERROR_CODES, isEdgemqError } from '../errors.ts'
export type { ErrorCode } from '../errors.ts'
