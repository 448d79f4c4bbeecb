// Password hashes: edgemq's own scrypt lines, plus Mosquitto's `$7$`
// (PBKDF2-HMAC-SHA512) and `$6$` (salted SHA-512) so a Mosquitto password
// file works unchanged. Verification runs on the libuv threadpool
// (async scrypt/pbkdf2) so a burst of logins never blocks the event loop, and
// compares in constant time.
import { createHash, pbkdf2, randomBytes, scrypt, timingSafeEqual } from 'node:crypto'

/** scrypt cost: N=2^14, r=8 (16 MiB, ~40 ms on x86, ~150 ms on a Pi 4), p=1 — RFC 7914's interactive-login figure. */
export const SCRYPT_DEFAULTS = { N: 16_384, r: 8, p: 1, saltBytes: 16, keyBytes: 32 } as const

/** Mosquitto 2.0's PBKDF2 default iteration count (apps/mosquitto_passwd). */
export const MOSQUITTO_PBKDF2_ITERATIONS = 101

/** A parsed hash of one of the supported schemes. */
export type PasswordHash =
  | { scheme: 'scrypt', N: number, r: number, p: number, salt: Buffer, hash: Buffer }
  | { scheme: 'pbkdf2-sha512', iterations: number, salt: Buffer, hash: Buffer }
  | { scheme: 'sha512', salt: Buffer, hash: Buffer }

const B64 = /^[A-Za-z0-9+/]+={0,2}$/

/** Parses the hash part of a password line; returns a problem string when it is not a supported hash. */
export function parsePasswordHash (text: string): PasswordHash | string {
  const parts = text.split('$')
  // parts[0] is '' because every supported form starts with '$'.
  if (parts[0] !== '' || parts.length < 4) {
    return 'is not a hash (a plain-text password? hash the file with `edgemq passwd -U FILE`)'
  }
  const b64 = (s: string): Buffer | undefined => B64.test(s) ? Buffer.from(s, 'base64') : undefined
  switch (parts[1]) {
    case 'scrypt': {
      if (parts.length !== 7) return 'has a malformed $scrypt$ hash (want $scrypt$N$r$p$salt$hash)'
      const [N, r, p] = parts.slice(2, 5).map((x) => /^\d{1,9}$/.test(x) ? Number(x) : NaN)
      const salt = b64(parts[5]); const hash = b64(parts[6])
      // Bounds stop a hostile file from making every login allocate gigabytes.
      if (!(N >= 2 && N <= 1_048_576 && (N & (N - 1)) === 0) || !(r >= 1 && r <= 32) || !(p >= 1 && p <= 16) || 128 * N * r > 256 * 1024 * 1024) {
        return `has scrypt parameters out of range (N=${parts[2]} r=${parts[3]} p=${parts[4]})`
      }
      if (salt === undefined || hash === undefined || salt.length < 8 || hash.length < 16) return 'has a malformed $scrypt$ salt or hash'
      return { scheme: 'scrypt', N, r, p, salt, hash }
    }
    case '7': {
      if (parts.length !== 5) return 'has a malformed $7$ hash (want $7$iterations$salt$hash)'
      const iterations = /^\d{1,9}$/.test(parts[2]) ? Number(parts[2]) : NaN
      const salt = b64(parts[3]); const hash = b64(parts[4])
      if (!(iterations >= 1 && iterations <= 10_000_000)) return `has a $7$ iteration count out of range (${parts[2]})`
      if (salt === undefined || hash === undefined || hash.length !== 64) return 'has a malformed $7$ salt or hash'
      return { scheme: 'pbkdf2-sha512', iterations, salt, hash }
    }
    case '6': {
      if (parts.length !== 4) return 'has a malformed $6$ hash (want $6$salt$hash)'
      const salt = b64(parts[2]); const hash = b64(parts[3])
      if (salt === undefined || hash === undefined || hash.length !== 64) return 'has a malformed $6$ salt or hash'
      return { scheme: 'sha512', salt, hash }
    }
    case 'argon2id':
      return 'uses argon2id (Mosquitto 2.1), which Node 20 cannot verify: set the password again with `edgemq passwd FILE USER`'
    default:
      return `uses an unknown hash scheme "$${parts[1]}$"`
  }
}

/** Derives the key for `password` with the parameters of `h`. */
async function derive (password: Buffer, h: PasswordHash): Promise<Buffer> {
  switch (h.scheme) {
    case 'scrypt':
      return await new Promise((resolve, reject) => {
        scrypt(password, h.salt, h.hash.length, { N: h.N, r: h.r, p: h.p, maxmem: 128 * h.N * h.r * 2 + 1024 * 1024 }, (err, key) => { if (err !== null) reject(err); else resolve(key) })
      })
    case 'pbkdf2-sha512':
      return await new Promise((resolve, reject) => {
        pbkdf2(password, h.salt, h.iterations, 64, 'sha512', (err, key) => { if (err !== null) reject(err); else resolve(key) })
      })
    case 'sha512':
      // Mosquitto 1.x: SHA-512(password || salt). Cheap by design, hence a legacy finding in `edgemq audit`.
      return createHash('sha512').update(password).update(h.salt).digest()
  }
}

/** Whether `password` matches `h`; constant-time over the derived key. */
export async function verifyPassword (password: Buffer, h: PasswordHash): Promise<boolean> {
  const key = await derive(password, h)
  return key.length === h.hash.length && timingSafeEqual(key, h.hash)
}

/** Hashes a password with edgemq's default scheme (scrypt); returns the text after "user:". */
export async function hashPassword (password: Buffer, options: { N?: number, r?: number, p?: number } = {}): Promise<string> {
  const h: PasswordHash = {
    scheme: 'scrypt',
    N: options.N ?? SCRYPT_DEFAULTS.N,
    r: options.r ?? SCRYPT_DEFAULTS.r,
    p: options.p ?? SCRYPT_DEFAULTS.p,
    salt: randomBytes(SCRYPT_DEFAULTS.saltBytes),
    hash: Buffer.alloc(SCRYPT_DEFAULTS.keyBytes)
  }
  const key = await derive(password, h)
  return `$scrypt$${h.N}$${h.r}$${h.p}$${h.salt.toString('base64')}$${key.toString('base64')}`
}

/** Formats a parsed hash back to its line form. */
export function formatPasswordHash (h: PasswordHash): string {
  switch (h.scheme) {
    case 'scrypt': return `$scrypt$${h.N}$${h.r}$${h.p}$${h.salt.toString('base64')}$${h.hash.toString('base64')}`
    case 'pbkdf2-sha512': return `$7$${h.iterations}$${h.salt.toString('base64')}$${h.hash.toString('base64')}`
    case 'sha512': return `$6$${h.salt.toString('base64')}$${h.hash.toString('base64')}`
  }
}

/**
 * A hash with the same scheme and cost as `like` for a random password: an
 * unknown user name is checked against it so it costs the same time as a
 * known one (no user enumeration by timing).
 */
export function decoyHash (like: PasswordHash | undefined): PasswordHash {
  const salt = randomBytes(like?.salt.length ?? SCRYPT_DEFAULTS.saltBytes)
  const hash = randomBytes(like?.hash.length ?? SCRYPT_DEFAULTS.keyBytes)
  if (like === undefined) return { scheme: 'scrypt', N: SCRYPT_DEFAULTS.N, r: SCRYPT_DEFAULTS.r, p: SCRYPT_DEFAULTS.p, salt, hash }
  return { ...like, salt, hash }
}

/** Whether a hash is weaker than edgemq's default (for `edgemq audit`): a word, or undefined when fine. */
export function weaknessOf (h: PasswordHash): string | undefined {
  if (h.scheme === 'sha512') return 'legacy $6$ (one SHA-512, no key stretching)'
  if (h.scheme === 'pbkdf2-sha512' && h.iterations < 100_000) return `$7$ PBKDF2 with only ${h.iterations} iterations (OWASP asks 210,000 for SHA-512)`
  if (h.scheme === 'scrypt' && 128 * h.N * h.r < 16 * 1024 * 1024) return `scrypt N=${h.N} r=${h.r} below the 16 MiB default cost`
  return undefined
}
