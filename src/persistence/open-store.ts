// Opening the LevelDB so that the broker always starts (mosquitto #2639/#3160:
// a store damaged by a power cut must not keep a gateway down): a store that
// does not open is repaired with LevelDB's RepairDB; if that fails too it is
// moved aside to `<path>.corrupt-<time>` and a fresh store is started, loudly.
// A store written by another format version is refused, never guessed at.
import { mkdir, rename, stat } from 'node:fs/promises'
import { dirname } from 'node:path'
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

/** Creates the database object (not yet opened), so sublevels can be taken before open. */
export function createRootLevel (path: string, options: { cacheSize: number, writeBufferSize: number }): RootLevel {
  return new ClassicLevel<Buffer, Buffer>(path, {
    keyEncoding: 'buffer',
    valueEncoding: 'buffer',
    cacheSize: options.cacheSize,
    writeBufferSize: options.writeBufferSize,
    createIfMissing: true
  })
}

/** Opens `db`, repairing or replacing a damaged store, then checks the format version. */
export async function openStore (db: RootLevel, logger: Logger, now: () => Date = () => new Date()): Promise<OpenOutcome> {
  const path = db.location
  await mkdir(dirname(path), { recursive: true })
  let status: OpenOutcome['status'] = 'opened'
  let movedTo: string | undefined
  try {
    await db.open()
  } catch (err) {
    const cause = (err as { cause?: { code?: string, message?: string } }).cause
    if (cause?.code === 'LEVEL_LOCKED') {
      throw new EdgemqError(ERROR_CODES.PERSISTENCE_FAILED,
        `persistence.path "${path}" is locked by another process (another edgemq running?): stop it or use another persistence.path`, { cause: err })
    }
    logger.error('store does not open, attempting repair', { path, error: cause?.message ?? (err as Error).message })
    try {
      await ClassicLevel.repair(path)
      await db.open()
      status = 'repaired'
      logger.warn('store repaired; records LevelDB could not recover are lost', { path })
    } catch (repairErr) {
      movedTo = `${path}.corrupt-${now().toISOString().replace(/[:.]/g, '-')}`
      logger.error('STORE UNRECOVERABLE: moved aside, starting with an EMPTY store (sessions, queues and retained messages are in the moved copy)',
        { path, movedTo, error: (repairErr as Error).message })
      try {
        await rename(path, movedTo)
        await db.open()
        status = 'replaced'
      } catch (freshErr) {
        throw new EdgemqError(ERROR_CODES.PERSISTENCE_FAILED,
          `persistence.path "${path}" cannot be opened, repaired or replaced: ${(freshErr as Error).message}; check the folder's permissions and free space`, { cause: freshErr })
      }
    }
  }
  try {
    const created = await checkFormat(db, path)
    if (created && status === 'opened') status = 'created'
  } catch (err) {
    await db.close().catch(() => {})
    throw err
  }
  return movedTo === undefined ? { status } : { status, movedTo }
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
