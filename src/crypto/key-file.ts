// Key files: one text line `edgemq-key v1 <type> <base64> <key id>`, plus
// optional `#` comment lines. Secret key files are written 0600 (temp file +
// rename, so a crash never leaves half a key) and refused when group or others
// can read them: a key another user can read is a key that has leaked.
import { randomBytes } from 'node:crypto'
import { constants } from 'node:fs'
import { link, open, rename, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { EdgemqError, ERROR_CODES } from '../errors.ts'
import { isSecretType, KEY_LENGTHS, KEY_TYPES, makeKey, type Key, type KeyType } from './keys.ts'

/** First word of a key line; the version after it lets the format change without guessing. */
export const KEY_FILE_TAG = 'edgemq-key'
/** Key file format version this code writes and reads. */
export const KEY_FILE_VERSION = 'v1'
/** Largest key file read: a key line is under 150 bytes; anything bigger is not a key file. */
const MAX_KEY_FILE_BYTES = 16 * 1024

/** The text of a key file for `key`: a comment line, then the key line. */
export function formatKeyFile (key: Key): string {
  const comment = isSecretType(key.type)
    ? `# edgemq ${key.type} key ${key.id}. SECRET: keep this file mode 0600, never commit or share it.`
    : `# edgemq ${key.type} key ${key.id}. Public: safe to share with the peers that need it.`
  return `${comment}\n${KEY_FILE_TAG} ${KEY_FILE_VERSION} ${key.type} ${Buffer.from(key.bytes).toString('base64')} ${key.id}\n`
}

/** Parses key file text; `where` (the path) goes into errors as where:line. Throws CRYPTO_INVALID. */
export function parseKeyFile (text: string, where = 'key file'): Key {
  const lines = text.split(/\r?\n/)
  let found: { key: Key, line: number } | undefined
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim()
    if (line === '' || line.startsWith('#')) continue
    const at = `${where}:${i + 1}`
    const bad = (what: string): never => { throw new EdgemqError(ERROR_CODES.CRYPTO_INVALID, `${what} (${at}): a key line is "${KEY_FILE_TAG} ${KEY_FILE_VERSION} <type> <base64> <key id>"; make one with edgemq keygen`) }
    if (found !== undefined) bad(`a key file holds one key, found a second key line after line ${found.line}`)
    const parts = line.split(/\s+/)
    if (parts[0] !== KEY_FILE_TAG) bad(`not an edgemq key line: starts with "${parts[0].slice(0, 20)}"`)
    if (parts[1] !== KEY_FILE_VERSION) bad(`key file version "${parts[1] ?? ''}" is not supported (this edgemq reads ${KEY_FILE_VERSION})`)
    const type = parts[2] as KeyType
    if (!(KEY_TYPES as readonly string[]).includes(type)) bad(`unknown key type "${parts[2] ?? ''}": expected one of ${KEY_TYPES.join(', ')}`)
    if (parts.length < 4 || parts.length > 5) bad(`expected 4 or 5 fields, found ${parts.length}`)
    const b64 = parts[3]
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) bad(`the key is not valid base64: "${b64.slice(0, 12)}..."`)
    const bytes = Uint8Array.from(Buffer.from(b64, 'base64'))
    if (bytes.length !== KEY_LENGTHS[type]) bad(`a ${type} key is ${KEY_LENGTHS[type]} bytes, this one decodes to ${bytes.length}`)
    let key: Key
    try {
      key = makeKey(type, bytes)
    } catch (err) {
      throw new EdgemqError(ERROR_CODES.CRYPTO_INVALID, `${(err as Error).message} (${at})`, { cause: err })
    }
    // The id is a checksum: a key mangled by copy and paste is caught here,
    // not later as a mysterious "unknown key" on the other side.
    if (parts[4] !== undefined && parts[4].toLowerCase() !== key.id) bad(`key id ${parts[4]} does not match the key (its id is ${key.id}): the key or the id was altered`)
    found = { key, line: i + 1 }
  }
  if (found === undefined) throw new EdgemqError(ERROR_CODES.CRYPTO_INVALID, `${where} holds no key line: expected "${KEY_FILE_TAG} ${KEY_FILE_VERSION} <type> <base64> <key id>"; make one with edgemq keygen`)
  return found.key
}

/**
 * Reads one key file. A secret key (secretbox, box-secret, sign-secret) is
 * refused with CRYPTO_KEY_INSECURE when its mode lets group or others read or
 * write it. `expect` names the key types the caller can use.
 */
export async function readKeyFile (path: string, expect?: KeyType | readonly KeyType[]): Promise<Key> {
  let handle
  try {
    // Symbolic links are followed (packages and secret mounts use them); the
    // mode checked below is the one of the file actually read (fstat).
    handle = await open(path, constants.O_RDONLY)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const hint = code === 'ENOENT' ? 'make it with edgemq keygen --out FILE' : 'check the path and its permissions'
    throw new EdgemqError(ERROR_CODES.CRYPTO_INVALID, `cannot read key file ${path} (${code ?? String(err)}): ${hint}`, { cause: err })
  }
  let text: string
  let mode: number
  try {
    // fstat on the open descriptor: the mode checked is the mode of the bytes read.
    const st = await handle.stat()
    if (!st.isFile()) throw new EdgemqError(ERROR_CODES.CRYPTO_INVALID, `key file ${path} is not a regular file`)
    if (st.size > MAX_KEY_FILE_BYTES) throw new EdgemqError(ERROR_CODES.CRYPTO_INVALID, `key file ${path} is ${st.size} bytes, not a key file (a key file is under 1 KiB)`)
    mode = st.mode & 0o777
    text = await handle.readFile('utf8')
  } finally {
    await handle.close()
  }
  const key = parseKeyFile(text, path)
  if (isSecretType(key.type) && (mode & 0o077) !== 0) {
    throw new EdgemqError(ERROR_CODES.CRYPTO_KEY_INSECURE, `secret key file ${path} has mode 0${mode.toString(8)}, so group or others can read it: run "chmod 600 ${path}" (and consider the key leaked if others could read it)`)
  }
  const wanted = expect === undefined ? undefined : typeof expect === 'string' ? [expect] : expect
  if (wanted !== undefined && !wanted.includes(key.type)) {
    throw new EdgemqError(ERROR_CODES.CRYPTO_INVALID, `key file ${path} holds a ${key.type} key (id ${key.id}), expected ${wanted.join(' or ')}`)
  }
  return key
}

/**
 * Writes a key file atomically: a temp file in the same folder (mode 0600 for
 * secrets, 0644 for public keys), fsync, then link/rename into place and fsync
 * the folder. Refuses to replace an existing file unless `overwrite`.
 */
export async function writeKeyFile (path: string, key: Key, options: { overwrite?: boolean } = {}): Promise<void> {
  const dir = dirname(path)
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
  const fileMode = isSecretType(key.type) ? 0o600 : 0o644
  const handle = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, fileMode)
  try {
    try {
      await handle.chmod(fileMode) // the umask may have narrowed a public file; never widens a secret one
      await handle.writeFile(formatKeyFile(key), 'utf8')
      await handle.sync()
    } finally {
      await handle.close()
    }
    if (options.overwrite === true) {
      await rename(tmp, path)
    } else {
      // link() fails with EEXIST instead of replacing: no check-then-write race.
      try {
        await link(tmp, path)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
          throw new EdgemqError(ERROR_CODES.CRYPTO_INVALID, `key file ${path} already exists: refusing to overwrite a key (move it away first, or pass --force)`, { cause: err })
        }
        throw err
      }
      await unlink(tmp)
    }
  } catch (err) {
    await unlink(tmp).catch(() => {})
    throw err
  }
  await syncDir(dir)
}

async function syncDir (dir: string): Promise<void> {
  // The rename is durable only once the folder entry is; some filesystems refuse fsync on a folder.
  const handle = await open(dir, constants.O_RDONLY).catch(() => undefined)
  if (handle === undefined) return
  try { await handle.sync() } catch {} finally { await handle.close() }
}
