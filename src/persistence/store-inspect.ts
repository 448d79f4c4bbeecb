// What `edgemq store check|compact|export|import` do to a store, outside a
// running broker. LevelDB allows one process per store: check on a running
// broker reads a copy of its files (what a kill at that instant would leave,
// which LevelDB opens by replaying its log), so it never touches the live one.
import { cp, mkdtemp, readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadBuiltin } from '../core/load-builtin.ts'
import { ClassicLevel } from 'classic-level'
import { listMovedAsideStores, type MovedAsideStore } from './open-store.ts'
import { decodeOutgoingState } from './record-codec.ts'
import { KIND, KIND_NAMES, readClientId, readSeqAtEnd } from './store-keys.ts'

type Db = ClassicLevel<Buffer, Buffer>

/** What `edgemq store check` reports. */
export interface StoreReport {
  path: string
  /** The broker held the store: the figures are of a copy taken now. */
  readFromCopy: boolean
  /** Records per kind (subscriptions, outgoing, ...; sublevels as `sublevel:<name>`). */
  counts: Record<string, number>
  /** Persistent sessions: clients with a subscription or a queued message. */
  sessions: number
  /** Records moved aside as undecodable (the Q range). */
  quarantined: number
  /** Packet-id records (U) whose queued message (O) is gone and that are not in their PUBREL phase. */
  orphanedStates: number
  /** Queued messages of clients that hold no subscription (their session may still resume them). */
  queuedWithoutSubscription: number
  /** Bytes of the store's files. */
  bytesOnDisk: number
  /** Copies of this store that a damaged open moved aside. */
  movedAside: MovedAsideStore[]
}

/** Header line of an export file. */
export interface ExportHeader { format: 'edgemq-store', version: 1, exportedAt: string, records: number }

async function openExisting (path: string): Promise<Db> {
  const db = new ClassicLevel<Buffer, Buffer>(path, { keyEncoding: 'buffer', valueEncoding: 'buffer', createIfMissing: false })
  await db.open()
  return db
}

function isLocked (err: unknown): boolean {
  const e = err as { code?: string, cause?: { code?: string } }
  return e.code === 'LEVEL_LOCKED' || e.cause?.code === 'LEVEL_LOCKED'
}

/** Opens the store, or a fresh copy of it when a running broker holds it (`copy` is then set). */
async function openForReading (path: string): Promise<{ db: Db, copy?: string }> {
  try {
    return { db: await openExisting(path) }
  } catch (err) {
    if (!isLocked(err)) throw err
    const dir = await mkdtemp(join(tmpdir(), 'edgemq-store-check-'))
    const copy = join(dir, 'store')
    await cp(path, copy, { recursive: true, filter: (src) => !src.endsWith('/LOCK') && !src.endsWith('.sock') })
    return { db: await openExisting(copy), copy: dir }
  }
}

async function bytesOf (path: string): Promise<number> {
  let total = 0
  for (const name of await readdir(path).catch(() => [] as string[])) {
    const s = await stat(join(path, name)).catch(() => undefined)
    if (s?.isFile() === true) total += s.size
  }
  return total
}

function kindOf (key: Buffer): string {
  if (key[0] === 0x21) { // '!' a sublevel: !name!...
    const end = key.indexOf(0x21, 1)
    return `sublevel:${key.toString('utf8', 1, end < 0 ? key.length : end)}`
  }
  return KIND_NAMES[key[0]] ?? `unknown:0x${key[0]?.toString(16) ?? ''}`
}

/** Counts what a store holds; read-only (on a running broker, of a copy). */
export async function checkStore (path: string): Promise<StoreReport> {
  const { db, copy } = await openForReading(path)
  try {
    const counts: Record<string, number> = {}
    const subscribers = new Set<string>()
    const queued = new Map<string, number>()
    const outKeys = new Set<string>()
    const states: Array<{ id: string, seq: number, pubrel: boolean }> = []
    for await (const [key, value] of db.iterator()) {
      const kind = kindOf(key)
      counts[kind] = (counts[kind] ?? 0) + 1
      if (key[0] === KIND.SUB) subscribers.add(readClientId(key))
      else if (key[0] === KIND.OUT) {
        const id = readClientId(key)
        queued.set(id, (queued.get(id) ?? 0) + 1)
        outKeys.add(`${id}\u0000${readSeqAtEnd(key)}`)
      } else if (key[0] === KIND.OUT_STATE) {
        let pubrel = false
        try { pubrel = decodeOutgoingState(value).pubrel } catch { /* sealed at rest or damaged: counted, not judged */ }
        states.push({ id: readClientId(key), seq: readSeqAtEnd(key), pubrel })
      }
    }
    let queuedWithoutSubscription = 0
    for (const [id, n] of queued) if (!subscribers.has(id)) queuedWithoutSubscription += n
    return {
      path,
      readFromCopy: copy !== undefined,
      counts,
      sessions: new Set([...subscribers, ...queued.keys()]).size,
      quarantined: counts.quarantine ?? 0,
      orphanedStates: states.filter((s) => !s.pubrel && !outKeys.has(`${s.id}\u0000${s.seq}`)).length,
      queuedWithoutSubscription,
      bytesOnDisk: await bytesOf(path),
      movedAside: await listMovedAsideStores(path)
    }
  } finally {
    await db.close()
    if (copy !== undefined) await rm(copy, { recursive: true, force: true })
  }
}

/** Compacts a stopped broker's store; returns its bytes on disk before and after. */
export async function compactStore (path: string): Promise<{ before: number, after: number }> {
  const before = await bytesOf(path)
  const db = await openExisting(path)
  try {
    await db.compactRange(Buffer.alloc(0), Buffer.alloc(64, 0xff))
  } finally {
    await db.close()
  }
  return { before, after: await bytesOf(path) }
}

/**
 * Writes every record of a stopped broker's store as JSON lines: a header,
 * then {"k": base64 key, "v": base64 value} per record, in key order. Values
 * sealed at rest stay sealed (the device key must move with the file).
 */
export async function exportStore (path: string, out: NodeJS.WritableStream): Promise<number> {
  const db = await openExisting(path)
  try {
    let records = 0
    for await (const _ of db.keys()) records++
    const header: ExportHeader = { format: 'edgemq-store', version: 1, exportedAt: new Date().toISOString(), records }
    const write = async (line: string): Promise<void> => { if (!out.write(line + '\n')) await new Promise((resolve) => out.once('drain', resolve)) }
    await write(JSON.stringify(header))
    for await (const [key, value] of db.iterator()) await write(JSON.stringify({ k: key.toString('base64'), v: value.toString('base64') }))
    return records
  } finally {
    await db.close()
  }
}

/**
 * Loads an export into the store at `path`, which must not exist yet or be
 * empty (an import never merges into a live store). Returns the record count;
 * a malformed line names its number and nothing is left half-imported.
 */
export async function importStore (path: string, input: NodeJS.ReadableStream): Promise<number> {
  const existing = await readdir(path).catch(() => [] as string[])
  if (existing.length > 0) throw new Error(`${path} is not empty: import into a new store path (move the old store aside first)`)
  const db = new ClassicLevel<Buffer, Buffer>(path, { keyEncoding: 'buffer', valueEncoding: 'buffer', createIfMissing: true })
  await db.open()
  let ok = false
  let count = 0
  try {
    let line = 0
    let header: ExportHeader | undefined
    let batch = db.batch()
    for await (const text of loadBuiltin<typeof import('node:readline')>('node:readline').createInterface({ input, crlfDelay: Infinity })) {
      line++
      if (text.trim() === '') continue
      let parsed: { k?: unknown, v?: unknown, format?: unknown, version?: unknown, records?: unknown }
      try { parsed = JSON.parse(text) } catch { throw new Error(`line ${line}: not JSON`) }
      if (header === undefined) {
        if (parsed.format !== 'edgemq-store' || parsed.version !== 1) throw new Error(`line ${line}: not an edgemq store export (expected a header {"format":"edgemq-store","version":1})`)
        header = parsed as ExportHeader
        continue
      }
      if (typeof parsed.k !== 'string' || typeof parsed.v !== 'string') throw new Error(`line ${line}: a record needs "k" and "v" (base64)`)
      batch.put(Buffer.from(parsed.k, 'base64'), Buffer.from(parsed.v, 'base64'))
      count++
      if (batch.length >= 1000) { await batch.write({ sync: false }); batch = db.batch() }
    }
    if (header === undefined) throw new Error('empty input: no export header')
    if (count !== header.records) throw new Error(`the export says ${header.records} records, the file holds ${count}: truncated?`)
    await batch.write({ sync: true })
    ok = true
    return count
  } finally {
    await db.close()
    if (!ok) await rm(path, { recursive: true, force: true })
  }
}
