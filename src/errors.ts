// The one error catalogue. Callers branch on `code`, never on message text.
// A message names what was wrong, the value seen, where, and the fix.

import { redactSecrets } from './observability/redact-secrets.ts'

/** Stable error codes, grouped by the part of the broker that raises them. */
export const ERROR_CODES = {
  CONFIG_INVALID: 'EDGEMQ_ERR_CONFIG_INVALID',
  CONFIG_UNREADABLE: 'EDGEMQ_ERR_CONFIG_UNREADABLE',
  BOARD_UNKNOWN: 'EDGEMQ_ERR_BOARD_UNKNOWN',
  LISTENER_FAILED: 'EDGEMQ_ERR_LISTENER_FAILED',
  PERSISTENCE_FAILED: 'EDGEMQ_ERR_PERSISTENCE_FAILED',
  PERSISTENCE_CORRUPT: 'EDGEMQ_ERR_PERSISTENCE_CORRUPT',
  PERSISTENCE_FORMAT: 'EDGEMQ_ERR_PERSISTENCE_FORMAT',
  AUTH_FILE_INVALID: 'EDGEMQ_ERR_AUTH_FILE_INVALID',
  AUTH_FILE_INSECURE: 'EDGEMQ_ERR_AUTH_FILE_INSECURE',
  ACL_FILE_INVALID: 'EDGEMQ_ERR_ACL_FILE_INVALID',
  CRYPTO_INVALID: 'EDGEMQ_ERR_CRYPTO_INVALID',
  CRYPTO_OPEN_FAILED: 'EDGEMQ_ERR_CRYPTO_OPEN_FAILED',
  CRYPTO_KEY_INSECURE: 'EDGEMQ_ERR_CRYPTO_KEY_INSECURE',
  CONTROL_FAILED: 'EDGEMQ_ERR_CONTROL_FAILED',
  BRIDGE_FAILED: 'EDGEMQ_ERR_BRIDGE_FAILED',
  USAGE: 'EDGEMQ_ERR_USAGE'
} as const

/** One of the stable codes in ERROR_CODES. */
export type ErrorCode = typeof ERROR_CODES[keyof typeof ERROR_CODES]

/** An error edgemq raises on purpose: a stable code, a message that says the fix. */
export class EdgemqError extends Error {
  readonly code: ErrorCode
  /** Every problem found in the same pass (config validation reports them all). Not named
   *  `details`: test runners (uvu) read a string `details` off a thrown error. */
  readonly problems: readonly string[]

  constructor (code: ErrorCode, message: string, options: { cause?: unknown, problems?: readonly string[] } = {}) {
    // No password, key, token or URL userinfo in any error (issue 15): the
    // messages echo config values ("got ..."), so they pass the one redaction.
    super(redactSecrets(message), options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'EdgemqError'
    this.code = code
    this.problems = (options.problems ?? []).map(redactSecrets)
  }
}

/** Whether `err` is an EdgemqError with the given code. */
export function isEdgemqError (err: unknown, code?: ErrorCode): err is EdgemqError {
  return err instanceof EdgemqError && (code === undefined || err.code === code)
}
