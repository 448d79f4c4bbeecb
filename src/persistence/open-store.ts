// Opening the LevelDB so that a damaged store does not keep a gateway down
// (mosquitto #2639/#3160: a store damaged by a power cut): a store whose data
// is verifiably corrupt is repaired with LevelDB's RepairDB; if that fails too
// it is moved aside to `<path>.corrupt-<time>` (kept, listed by
// listMovedAsideStores) and a fresh store is started, loudly. A user error
// never destroys data (issue 15): permissions, owner, a read-only or full file
// system, a missing parent or a file as the path refuse the start with the
// cause and the fix, and nothing on disk is changed.
// A store written by another format version is refused, never guessed at.
import { chmod, mkdir, readdir, rename, rm, stat } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { checkStoreAccess, checkStorePrivacy } from './check-store-access.ts'
import { ClassicLevel } from 'classic-level'
import { EdgemqError, ERROR_CODES } from '../errors.ts'
import type { Logger } from '../observability/logger.ts'
import { metaKey } from './store-keys.ts'

/** Version of the on-disk layout (store-keys.ts, record-codec.ts). Bump on any incompatible change. */
export const FORMAT_VERSION = 1
const FORMAT_PREFIX = 'edgemq-persistence/'

/** The root database: binary keys and values; sublevels pick their own encodings. */
export type RootLevel = ClassicLevel<Buffer, Buffer>

/** What happened while opening (for logs, stats and tests). */
export interface OpenOutcome {
  /** 'opened', 'created', 'repaired' or 'replaced' (moved aside, fresh store). */
  status: 'opened' | 'created' | 'repaired' | 'replaced'
  /** Where a store that could not be repaired was moved. */
  movedTo?: string
}

/** Creates the database object (not yet opened: openStore opens it after its checks), so sublevels can be taken before open. */
export function createRootLevel (path: string, options: { cacheSize: number, writeBufferSize: number }): RootLevel {
  const db = new ClassicLevel<Buffer, Buffer>(path, {
    keyEncoding: 'buffer',
    valueEncoding: 'buffer',
    cacheSize: options.cacheSize,
    writeBufferSize: options.writeBufferSize,
    createIfMissing: true
  })
  // abstract-level opens a new database by itself on the next microtask; that
  // open would create the folder (umask modes) and touch the files before
  // openStore has checked owner and permissions. A close before that open
  // cancels it without touching the disk; openStore opens explicitly.
  db.close().catch(() => {})
  return db
}

/** Whether a store folder holds LevelDB data files (tables, logs, a manifest) but no CURRENT file. */
async function lacksCurrent (path: string): Promise<boolean> {
  const names = await readdir(path).catch(() => [] as string[])
  return !names.includes('CURRENT') && names.some((n) => /^MANIFEST-\d+$|\.(ldb|sst|log)$/.test(n) && n !== 'LOG')
}

/** How a store is repaired (LevelDB's RepairDB); tests inject a failing one to reach the move-aside path. */
export type RepairStore = (path: string) => Promise<void>

/**
 * Opens `db`, repairing or replacing a store whose data is verifiably damaged,
 * then checks the format version. A problem of the machine (permissions, owner,
 * read-only or full file system, missing parent, a file where the folder should
 * be) refuses with the cause and the fix and changes nothing on disk.
 */
export async function openStore (db: RootLevel, logger: Logger, now: () => Date = () => new Date(), repair: RepairStore = async (p) => { await ClassicLevel.repair(p) }): Promise<OpenOutcome> {
  const path = db.location
  const problems = await checkStoreAccess(path)
  if (problems.length > 0) {
    throw new EdgemqError(ERROR_CODES.PERSISTENCE_FAILED, problems[0].message, { problems: problems.map((p) => p.message) })
  }
  // The store holds retained payloads, sessions, client-id bindings and bans:
  // a new store is folder 0700 with files 0600 whatever the umask (issue 14).
  // The folder mode alone keeps others out of files LevelDB creates later
  // (tables at each compaction); `edgemq start` also narrows its umask.
  const existed = await pathExists(path)
  if (!existed) {
    try {
      await mkdir(path, { mode: 0o700 })
      await chmod(path, 0o700) // mkdir's mode passes through the umask
    } catch (err) {
      throw environmentError(path, err as NodeJS.ErrnoException)
    }
  } else {
    const open = await checkStorePrivacy(path)
    if (open !== undefined) logger.warn(open.message)
  }
  let status: OpenOutcome['status'] = 'opened'
  let movedTo: string | undefined
  // A store with data files but no CURRENT: LevelDB would start a new, empty
  // database over them and later delete the tables as obsolete (measured: a
  // compacted subscription was gone, status "created"). RepairDB rebuilds the
  // manifest from the tables and logs instead (issue 11).
  if (existed && await lacksCurrent(path)) {
    logger.error('store has data files but no CURRENT file, attempting repair', { path })
    try {
      await repair(path)
      status = 'repaired'
    } catch (err) {
      throw environmentError(path, err as Error)
    }
  }
  try {
    await db.open()
  } catch (err) {
    const cause = (err as { cause?: { code?: string, message?: string } }).cause
    if (cause?.code === 'LEVEL_LOCKED') {
      throw new EdgemqError(ERROR_CODES.PERSISTENCE_FAILED,
        `persistence.path "${path}" is locked by another process (another edgemq running?): stop it or use another persistence.path`, { cause: err })
    }
    if (!existed) await rm(path, { recursive: true, force: true }).catch(() => {}) // only what this open created
    if (!isVerifiedCorruption(err, existed)) throw environmentError(path, err as Error)
    logger.error('store does not open, attempting repair', { path, error: cause?.message ?? (err as Error).message })
    try {
      await repair(path)
      await db.open()
      status = 'repaired'
      logger.warn('store repaired; records LevelDB could not recover are lost', { path })
    } catch (repairErr) {
      if (!isVerifiedCorruption(repairErr, true)) throw environmentError(path, repairErr as Error)
      const target = `${path}${MOVED_ASIDE_MARK}${now().toISOString().replace(/[:.]/g, '-')}`
      try {
        await rename(path, target)
      } catch (moveErr) {
        throw new EdgemqError(ERROR_CODES.PERSISTENCE_FAILED,
          `persistence.path "${path}" is damaged beyond repair and could not be moved aside to "${target}" (${(moveErr as Error).message}); nothing was changed: move it away by hand and start again`, { cause: moveErr })
      }
      movedTo = target
      // Said only now that the move succeeded; `edgemq store check` lists the copy (listMovedAsideStores).
      logger.error('STORE UNRECOVERABLE: moved aside, starting with an EMPTY store (sessions, queues and retained messages are in the moved copy, which is kept)',
        { path, movedTo, error: (repairErr as Error).message })
      try {
        await mkdir(path, { mode: 0o700 })
        await chmod(path, 0o700)
        await db.open()
        status = 'replaced'
      } catch (freshErr) {
        throw environmentError(path, freshErr as Error)
      }
    }
  }
  await restrictFiles(path)
  try {
    const created = await checkFormat(db, path)
    if (created && status === 'opened') status = 'created'
  } catch (err) {
    await db.close().catch(() => {})
    throw err
  }
  return movedTo === undefined ? { status } : { status, movedTo }
}

/** What a moved-aside copy's name carries between the store path and the time. */
export const MOVED_ASIDE_MARK = '.corrupt-'

/** A copy of a damaged store that openStore moved aside (kept, never deleted by edgemq). */
export interface MovedAsideStore {
  /** Where the copy is. */
  path: string
  /** When it was moved, from its name (ISO time), or undefined when the name does not say. */
  movedAt: string | undefined
}

/** Lists the copies of the store at `storePath` that were moved aside, oldest first (for `edgemq store check`). */
export async function listMovedAsideStores (storePath: string): Promise<MovedAsideStore[]> {
  const folder = dirname(storePath)
  const prefix = basename(storePath) + MOVED_ASIDE_MARK
  const names = await readdir(folder).catch(() => [] as string[])
  return names.filter((n) => n.startsWith(prefix)).sort().map((n) => {
    const stamp = /^(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})-(\d{3})Z$/.exec(n.slice(prefix.length))
    return { path: join(folder, n), movedAt: stamp === null ? undefined : `${stamp[1]}T${stamp[2]}:${stamp[3]}:${stamp[4]}.${stamp[5]}Z` }
  })
}

// Errors of the machine, not of the data: never repaired or moved aside.
const ENVIRONMENT = /permission denied|EACCES|EPERM|read-only file system|EROFS|no space left|ENOSPC|not a directory|ENOTDIR|EEXIST|too many open files|EMFILE|quota exceeded|EDQUOT/i

/**
 * Whether an open failure is damage to the store's data: LevelDB's own
 * corruption status, or a file the store's own manifest names that is missing
 * (a garbled CURRENT, a lost table). Anything else is refused, not repaired.
 */
function isVerifiedCorruption (err: unknown, existed: boolean): boolean {
  const cause = (err as { cause?: { code?: string, message?: string } }).cause
  const text = `${cause?.message ?? ''} ${(err as Error).message ?? ''}`
  if (ENVIRONMENT.test(text)) return false
  if (cause?.code === 'LEVEL_CORRUPTION' || (err as { code?: string }).code === 'LEVEL_CORRUPTION') return true
  return existed && cause?.code === 'LEVEL_IO_ERROR' && /no such file or directory/i.test(text)
}

/** A refusal for a problem of the machine: the cause and the fix, nothing changed. */
function environmentError (path: string, err: Error): EdgemqError {
  const cause = (err as { cause?: { message?: string } }).cause
  const text = `${cause?.message ?? ''} ${err.message}`
  let fix = 'check the folder, its owner and permissions, and the free space'
  if (/no space left|ENOSPC|quota/i.test(text)) fix = `the file system is full: free space (df -h ${dirname(path)}) and start again`
  else if (/read-only|EROFS/i.test(text)) fix = `the file system is read-only: remount it read-write or point persistence.path (--data) at a writable folder`
  else if (/permission denied|EACCES|EPERM/i.test(text)) fix = `this user (uid ${process.getuid?.() ?? '?'}) may not write there: chown -R <the broker's user>: ${path} (for example chown -R edgemq: ${path})`
  else if (/not a directory|ENOTDIR|EEXIST/i.test(text)) fix = 'persistence.path (--data) must be a folder, not a file'
  return new EdgemqError(ERROR_CODES.PERSISTENCE_FAILED,
    `persistence.path "${path}" cannot be opened: ${(cause?.message ?? err.message).trim()}; nothing was changed: ${fix}`, { cause: err })
}

/** Makes the store's files 0600 (LevelDB creates them with the umask); only ever narrows. */
async function restrictFiles (path: string): Promise<void> {
  for (const name of await readdir(path).catch(() => [] as string[])) {
    const file = join(path, name)
    const s = await stat(file).catch(() => undefined)
    if (s !== undefined && s.isFile() && (s.mode & 0o077) !== 0) await chmod(file, s.mode & 0o700).catch(() => {})
  }
}

/** Checks (or, on an empty store, writes) the format key. Returns true when it was written. */
async function checkFormat (db: RootLevel, path: string): Promise<boolean> {
  const raw = await db.get(metaKey('format'))
  if (raw === undefined) {
    for await (const key of db.keys({ limit: 1 })) {
      throw new EdgemqError(ERROR_CODES.PERSISTENCE_FORMAT,
        `persistence.path "${path}" holds a LevelDB without an edgemq format key (first key ${JSON.stringify(key.toString('latin1').slice(0, 40))}): ` +
        'it is not an edgemq store (aedes-persistence-level?); point persistence.path at an empty folder or move this one away')
    }
    await db.put(metaKey('format'), Buffer.from(FORMAT_PREFIX + FORMAT_VERSION), { sync: true })
    return true
  }
  const text = raw.toString('utf8')
  const version = text.startsWith(FORMAT_PREFIX) ? Number(text.slice(FORMAT_PREFIX.length)) : NaN
  if (version === FORMAT_VERSION) return false
  if (Number.isInteger(version) && version > FORMAT_VERSION) {
    throw new EdgemqError(ERROR_CODES.PERSISTENCE_FORMAT,
      `persistence.path "${path}" is format ${version}, written by a newer edgemq; this edgemq reads format ${FORMAT_VERSION}: upgrade edgemq, or move the folder away to start empty`)
  }
  // Older versions would be upgraded here, one step at a time; there is none yet.
  throw new EdgemqError(ERROR_CODES.PERSISTENCE_FORMAT,
    `persistence.path "${path}" has an unknown format key ${JSON.stringify(text.slice(0, 60))} (expected "${FORMAT_PREFIX}${FORMAT_VERSION}"): move the folder away to start empty`)
}

/** Whether `path` exists (tests and tools). */
export async function pathExists (path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false)
}
