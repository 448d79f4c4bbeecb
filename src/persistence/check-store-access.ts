// Before LevelDB opens the store: is this a problem of the machine (owner,
// permissions, read-only file system, missing parent, a file where the folder
// should be, a full disk) rather than of the data? Those are user errors and
// must never be "repaired" or moved aside (issue 15: a `sudo -u` start hit
// EACCES on LOCK, was treated as corruption and the broker started EMPTY).
// Each finding names the cause and the fix, and nothing on disk is touched.
import { constants, readFileSync } from 'node:fs'
import { access, readdir, stat } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { userInfo } from 'node:os'

/** A store folder problem: what is wrong and the fix (one line). */
export interface StoreAccessProblem {
  /** 'parent-missing' | 'not-a-folder' | 'no-access' | 'read-only' | 'open-to-others' */
  kind: 'parent-missing' | 'not-a-folder' | 'no-access' | 'read-only' | 'open-to-others'
  message: string
}

/** Mode bits that let users other than the owner read or enter the store (issue 14). */
export const OTHERS_BITS = 0o077

/**
 * Checks the store folder at `path` as the current process would use it.
 * Returns the problems that stop the open (never 'open-to-others': see
 * checkStorePrivacy); an absent folder with an existing parent is fine (it is created).
 */
export async function checkStoreAccess (path: string, label = 'persistence.path'): Promise<StoreAccessProblem[]> {
  const info = await stat(path).catch((err: NodeJS.ErrnoException) => err)
  if (info instanceof Error) {
    if (info.code !== 'ENOENT') return [noAccess(path, label, info, undefined)]
    const parent = dirname(path)
    const p = await stat(parent).catch((err: NodeJS.ErrnoException) => err)
    if (p instanceof Error) {
      return [{ kind: 'parent-missing', message: `${label} "${path}": its parent folder "${parent}" does not exist (${p.code ?? p.message}): create it (mkdir -p ${parent}) or point ${label} at an existing place` }]
    }
    if (!p.isDirectory()) return [{ kind: 'not-a-folder', message: `${label} "${path}": "${parent}" is a file, not a folder: point ${label} (--data) at a folder` }]
    const denied = await access(parent, constants.W_OK | constants.X_OK).then(() => undefined, (err: NodeJS.ErrnoException) => err)
    if (denied !== undefined) return [denied.code === 'EROFS' ? readOnly(parent, label) : noAccess(parent, label, denied, p.uid, `cannot create "${path}" in it`)]
    return []
  }
  if (!info.isDirectory()) {
    return [{ kind: 'not-a-folder', message: `${label} "${path}" is a file, not a store folder; it was left untouched: point ${label} (--data) at a folder (a new one is created) or move the file away` }]
  }
  const problems: StoreAccessProblem[] = []
  const dirDenied = await access(path, constants.R_OK | constants.W_OK | constants.X_OK).then(() => undefined, (err: NodeJS.ErrnoException) => err)
  if (dirDenied !== undefined) return [dirDenied.code === 'EROFS' ? readOnly(path, label) : noAccess(path, label, dirDenied, info.uid)]
  for (const name of await readdir(path)) {
    const file = join(path, name)
    const denied = await access(file, constants.R_OK | constants.W_OK).then(() => undefined, (err: NodeJS.ErrnoException) => err)
    if (denied === undefined) continue
    if (denied.code === 'EROFS') return [readOnly(path, label)]
    const owner = await stat(file).then((s) => s.uid, () => undefined)
    problems.push(noAccess(path, label, denied, owner, `${name} is not readable and writable by this process`))
    break // one is enough to say it; the fix (chown -R) covers all
  }
  return problems
}

/** Whether users other than the owner can read the store folder or its files (issue 14); returns a warning or undefined. */
export async function checkStorePrivacy (path: string, label = 'persistence.path'): Promise<StoreAccessProblem | undefined> {
  const info = await stat(path).catch(() => undefined)
  if (info === undefined || !info.isDirectory()) return undefined
  const open: string[] = []
  if ((info.mode & OTHERS_BITS) !== 0) open.push(`the folder is ${octal(info.mode)}`)
  for (const name of await readdir(path).catch(() => [] as string[])) {
    const s = await stat(join(path, name)).catch(() => undefined)
    if (s !== undefined && s.isFile() && (s.mode & OTHERS_BITS) !== 0) { open.push(`${name} is ${octal(s.mode)}`); break }
  }
  if (open.length === 0) return undefined
  return {
    kind: 'open-to-others',
    message: `${label} "${path}" is readable by other users (${open.join(', ')}): retained payloads, sessions, client-id bindings and bans are in it; fix: chmod -R go-rwx ${path}`
  }
}

function readOnly (path: string, label: string): StoreAccessProblem {
  return { kind: 'read-only', message: `${label} "${path}" is on a read-only file system: remount it read-write or point ${label} (--data) at a writable folder` }
}

function noAccess (path: string, label: string, err: NodeJS.ErrnoException, ownerUid: number | undefined, detail?: string): StoreAccessProblem {
  const me = currentUser()
  const owner = ownerUid === undefined ? '' : `, owned by ${userName(ownerUid)}`
  const fix = ownerUid !== undefined && ownerUid !== me.uid
    ? `start edgemq as ${userName(ownerUid)} (the owner), or give the store to this user: chown -R ${me.name}: ${path}`
    : `give this user access: chown -R ${me.name}: ${path} && chmod -R u+rwX ${path}`
  return {
    kind: 'no-access',
    message: `${label} "${path}": permission denied for ${me.name} (uid ${me.uid})${detail === undefined ? '' : `: ${detail}`}${owner} (${err.code ?? err.message}); nothing was changed: ${fix}`
  }
}

function octal (mode: number): string {
  return '0' + (mode & 0o777).toString(8)
}

function currentUser (): { uid: number, name: string } {
  const uid = process.getuid?.() ?? -1
  return { uid, name: userName(uid) }
}

let passwd: Map<number, string> | undefined

/** The user name for a uid (from /etc/passwd; read only on this error path), or the number when it has none. */
function userName (uid: number): string {
  if (passwd === undefined) {
    passwd = new Map()
    let text = ''
    try { text = readFileSync('/etc/passwd', 'utf8') } catch {}
    for (const line of text.split('\n')) {
      const [name, , id] = line.split(':')
      if (name !== undefined && name !== '' && id !== undefined && !passwd.has(Number(id))) passwd.set(Number(id), name)
    }
    try { const me = userInfo(); passwd.set(me.uid, me.username) } catch {}
  }
  return passwd.get(uid) ?? String(uid)
}
