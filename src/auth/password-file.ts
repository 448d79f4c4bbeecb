// The password file: `user:hash` per line, the Mosquitto layout, so a
// Mosquitto file works unchanged. A malformed line stops the load instead of
// being skipped (CVE-2018-12551: Mosquitto once let a malformed line through
// as a bypass). A file others can read or write is refused: the hashes are
// an offline-cracking target and a writable file is a backdoor.
import { open, readFile, rename, stat, unlink } from 'node:fs/promises'
import { dirname, basename, join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { EdgemqError, ERROR_CODES } from '../errors.ts'
import { parsePasswordHash, type PasswordHash } from './password-hash.ts'

/** One line of the file. */
export interface PasswordEntry {
  user: string
  /** The hash text as written (kept so rewriting preserves untouched lines byte for byte). */
  text: string
  hash: PasswordHash
  line: number
}

/** A loaded password file. */
export interface PasswordFile {
  path: string
  users: ReadonlyMap<string, PasswordEntry>
}

/** Parses password-file text; throws AUTH_FILE_INVALID naming file:line and the fix. */
export function parsePasswordFile (text: string, path: string, options: { allowPlain?: boolean } = {}): { entries: PasswordEntry[], plain: Array<{ user: string, password: string, line: number }> } {
  const entries: PasswordEntry[] = []
  const plain: Array<{ user: string, password: string, line: number }> = []
  const seen = new Set<string>()
  const lines = text.split('\n')
  lines.forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw
    if (line.trim() === '' || line.startsWith('#')) return
    const at = `${path}:${i + 1}`
    const colon = line.indexOf(':')
    if (colon <= 0) throw new EdgemqError(ERROR_CODES.AUTH_FILE_INVALID, `${at}: password line must be user:hash: got ${line.length} characters without a ':' (not echoed: it may be a password; fix or delete the line)`)
    const user = line.slice(0, colon)
    const rest = line.slice(colon + 1)
    const badName = checkUsername(user)
    if (badName !== undefined) throw new EdgemqError(ERROR_CODES.AUTH_FILE_INVALID, `${at}: user name ${JSON.stringify(user)} ${badName} (rename the user)`)
    if (seen.has(user)) throw new EdgemqError(ERROR_CODES.AUTH_FILE_INVALID, `${at}: user ${JSON.stringify(user)} appears twice (delete one line)`)
    seen.add(user)
    const hash = parsePasswordHash(rest)
    if (typeof hash === 'string') {
      if (options.allowPlain === true && !rest.startsWith('$')) { plain.push({ user, password: rest, line: i + 1 }); return }
      throw new EdgemqError(ERROR_CODES.AUTH_FILE_INVALID, `${at}: the password of ${JSON.stringify(user)} ${hash}`)
    }
    entries.push({ user, text: rest, hash, line: i + 1 })
  })
  return { entries, plain }
}

/**
 * Problem with a user name or client id, or undefined when fine. Wildcards
 * and "/" would let %u/%c ACL patterns match other users' topics
 * (CVE-2017-7650); control characters forge log lines.
 */
export function checkUsername (name: string): string | undefined {
  if (name.length === 0) return 'is empty'
  if (name.length > 256) return 'is longer than 256 characters'
  if (/[+#/]/.test(name)) return 'contains + # or /'
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) return 'contains a control character'
  return undefined
}

/** Refuses a file that the group can write or others can read (Mosquitto 2.1 warns on the same). */
export async function checkFileMode (path: string): Promise<void> {
  const s = await stat(path)
  if ((s.mode & 0o026) !== 0) {
    throw new EdgemqError(ERROR_CODES.AUTH_FILE_INSECURE,
      `${path} has mode ${(s.mode & 0o777).toString(8).padStart(4, '0')}: a password file must not be group-writable or world-readable (fix: chmod 600 ${path})`)
  }
}

/** Reads, checks the mode of, and parses a password file. */
export async function loadPasswordFile (path: string): Promise<PasswordFile> {
  let text: string
  try {
    await checkFileMode(path)
    text = await readFile(path, 'utf8')
  } catch (err) {
    if (err instanceof EdgemqError) throw err
    throw new EdgemqError(ERROR_CODES.AUTH_FILE_INVALID, `cannot read password file ${path}: ${(err as Error).message} (create it with \`edgemq passwd ${path} USER\`)`, { cause: err })
  }
  const { entries } = parsePasswordFile(text, path)
  return { path, users: new Map(entries.map((e) => [e.user, e])) }
}

/**
 * Writes a file atomically with mode 0600: a temp file in the same folder,
 * fsync, rename over the old one, fsync the folder. A crash leaves the old
 * file or the new one, never half of either.
 */
export async function writeFileAtomic (path: string, text: string): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`)
  const fh = await open(tmp, 'wx', 0o600)
  try {
    await fh.writeFile(text)
    await fh.chmod(0o600) // the umask may have cleared bits; never widen, always exactly 0600
    await fh.sync()
  } finally {
    await fh.close()
  }
  try {
    await rename(tmp, path)
  } catch (err) {
    await unlink(tmp).catch(() => {})
    throw err
  }
  const dir = await open(dirname(path), 'r')
  try { await dir.sync() } catch { /* some filesystems refuse a directory fsync */ } finally { await dir.close() }
}
