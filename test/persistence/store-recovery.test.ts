// Damage on disk: bit flips and truncated records are quarantined and logged,
// a store that does not open is repaired or moved aside, a store of another
// format is refused. The LevelDB files are edited for real.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { ClassicLevel } from 'classic-level'
import { createLogger } from '../../src/observability/logger.ts'
import { isEdgemqError, ERROR_CODES } from '../../src/errors.ts'
import { createLevelPersistence, type LevelPersistence } from '../../src/persistence/level-persistence.ts'
import { clientPrefix, KIND, retainedKey, seqKey, subKey } from '../../src/persistence/store-keys.ts'

const dir = mkdtempSync(join(tmpdir(), 'edgemq-recovery-'))
let n = 0
test.after(() => rmSync(dir, { recursive: true, force: true }))

function fresh (): string { return join(dir, `db-${++n}`) }

function open (path: string, lines: string[] = []): LevelPersistence {
  return createLevelPersistence({
    path, sync: 'batch', syncInterval: 1000, cacheSize: 1 << 20, writeBufferSize: 1 << 20,
    logger: createLogger({ level: 'debug', sink: (l) => lines.push(l) })
  })
}

async function list (s: Readable): Promise<any[]> {
  const out: any[] = []
  for await (const x of s) out.push(x)
  return out
}

async function raw<T> (path: string, fn: (db: ClassicLevel<Buffer, Buffer>) => Promise<T>): Promise<T> {
  const db = new ClassicLevel<Buffer, Buffer>(path, { keyEncoding: 'buffer', valueEncoding: 'buffer' })
  await db.open()
  try { return await fn(db) } finally { await db.close() }
}

test('a bit flipped inside a LevelDB table file is quarantined and logged; the other records are served', async () => {
  const path = fresh()
  const p = open(path)
  await p.setup({ id: 'b1' })
  const secret = randomBytes(3000) // incompressible: stored verbatim in the table file
  await p.storeRetained({ cmd: 'publish', topic: 'flip/me', payload: secret, qos: 1, retain: true })
  await p.storeRetained({ cmd: 'publish', topic: 'keep/me', payload: Buffer.from('good'), qos: 1, retain: true })
  await p.close()
  await raw(path, async (db) => { await db.compactRange(Buffer.of(0), Buffer.of(0xff)) })
  let flipped = 0
  for (const f of readdirSync(path).filter((f) => f.endsWith('.ldb'))) {
    const file = readFileSync(join(path, f))
    const at = file.indexOf(secret.subarray(1000, 1032))
    if (at >= 0) { file[at + 10] ^= 0x04; writeFileSync(join(path, f), file); flipped++ }
  }
  assert.is(flipped, 1, 'the payload was found in one table file')

  const lines: string[] = []
  const p2 = open(path, lines)
  await p2.setup({ id: 'b2' })
  const got = await list(p2.createRetainedStream('#'))
  assert.equal(got.map((m) => m.topic), ['keep/me'])
  assert.is(p2.stats().quarantined, 1)
  assert.ok(lines.some((l) => / warn persistence: record quarantined kind=retained .*reason="checksum mismatch"/.test(l)), lines.join('\n'))
  await p2.close()
  // moved, not deleted: the damaged record is kept under Q for forensics
  const q = await raw(path, async (db) => (await db.keys({ gte: Buffer.of(KIND.QUARANTINE), lt: Buffer.of(KIND.QUARANTINE + 1) }).all()).length)
  assert.is(q, 1)
  const p3 = open(path)
  await p3.setup({ id: 'b3' })
  assert.is(p3.stats().quarantined, 1, 'the quarantine count survives a restart')
  await p3.close()
})

test('truncated and undecodable records of every kind are quarantined at load and on read, never thrown', async () => {
  const path = fresh()
  const p = open(path)
  await p.setup({ id: 'b1' })
  await p.addSubscriptions({ id: 'c1' }, [{ topic: 'good', qos: 1 }])
  await p.outgoingEnqueueCombi([{ clientId: 'c1' }], { cmd: 'publish', topic: 'good', payload: Buffer.from('q1'), qos: 1, brokerId: 'b1', brokerCounter: 1 })
  await p.close()
  const goodQueued = await raw(path, async (db) => {
    const entries = await db.iterator({ gte: clientPrefix(KIND.OUT, 'c1'), lt: seqKey(clientPrefix(KIND.OUT, 'c1'), Number.MAX_SAFE_INTEGER) }).all()
    const [key, value] = entries[0]
    await db.put(subKey('c1', 'broken'), Buffer.from([0x53, 1, 2, 3])) // truncated subscription
    await db.put(seqKey(clientPrefix(KIND.OUT, 'c1'), 1e12), value.subarray(0, value.length - 3)) // truncated, queued after the good one
    await db.put(retainedKey('junk'), Buffer.from('not a record'))
    await db.put(Buffer.concat([clientPrefix(KIND.WILL, 'c9')]), Buffer.alloc(0))
    return key
  })
  assert.ok(goodQueued.length > 0)
  const lines2: string[] = []
  const p2 = open(path, lines2)
  await p2.setup({ id: 'b2' })
  assert.equal((await p2.subscriptionsByClient({ id: 'c1' })).map((s) => s.topic), ['good'])
  const queued = await list(p2.outgoingStream({ id: 'c1' }))
  assert.equal(queued.map((m) => m.payload.toString()), ['q1'])
  assert.equal(await list(p2.createRetainedStream('#')), [])
  assert.is(await p2.getWill({ id: 'c9' }), undefined)
  assert.is(p2.stats().quarantined, 4, lines2.join('\n'))
  await p2.close()
})

test('a retained message without a valid topic is refused, not stored for aedes to choke on later (aedes #780)', async () => {
  const path = fresh()
  const p = open(path)
  await p.setup({ id: 'b1' })
  for (const topic of [undefined, null, '']) {
    try {
      await p.storeRetained({ cmd: 'publish', topic, payload: Buffer.from('x') })
      assert.unreachable(`stored topic ${String(topic)}`)
    } catch (err) {
      assert.match((err as Error).message, /without a valid topic/)
    }
  }
  assert.equal(await list(p.createRetainedStream('#')), [])
  await p.close()
})

test('a store that does not open (CURRENT garbled) is repaired and keeps its data', async () => {
  const path = fresh()
  const p = open(path)
  await p.setup({ id: 'b1' })
  await p.addSubscriptions({ id: 'c1' }, [{ topic: 'keep', qos: 1 }])
  await p.close()
  writeFileSync(join(path, 'CURRENT'), 'MANIFEST-999999\n')
  const lines: string[] = []
  const p2 = open(path, lines)
  await p2.setup({ id: 'b2' })
  assert.is(p2.stats().open, 'repaired')
  assert.equal((await p2.subscriptionsByClient({ id: 'c1' })).map((s) => s.topic), ['keep'])
  assert.ok(lines.some((l) => l.includes('error persistence: store does not open, attempting repair')), lines.join('\n'))
  await p2.close()
})

test('a store whose CURRENT file is missing is repaired and keeps its data', async () => {
  const path = fresh()
  const p = open(path)
  await p.setup({ id: 'b1' })
  await p.addSubscriptions({ id: 'c1' }, [{ topic: 'kept-without-current', qos: 1 }])
  await p.close()
  // into table files (not only the log), as on a gateway that has run a while
  await raw(path, async (db) => { await db.compactRange(Buffer.alloc(0), Buffer.alloc(8, 0xff)) })
  rmSync(join(path, 'CURRENT'))
  const lines: string[] = []
  const p2 = open(path, lines)
  await p2.setup({ id: 'b2' })
  // before the fix: status "created" and the subscription gone (LevelDB started an empty store over the tables)
  assert.is(p2.stats().open, 'repaired')
  assert.equal((await p2.subscriptionsByClient({ id: 'c1' })).map((s) => s.topic), ['kept-without-current'])
  assert.ok(lines.some((l) => /error persistence: /.test(l)), 'the damage is logged: ' + lines.join('\n'))
  await p2.close()
})

test('a LevelDB log truncated in its last record (a torn write) opens; the records before the tear are kept', async () => {
  const path = fresh()
  const p = open(path)
  await p.setup({ id: 'b1' })
  for (let i = 0; i < 20; i++) await p.storeRetained({ cmd: 'publish', topic: `torn/${i}`, payload: Buffer.from(`v${i}`.padEnd(200, '.')), qos: 0, retain: true })
  await p.close()
  const log = readdirSync(path).filter((f) => f.endsWith('.log')).sort().pop()
  assert.ok(log !== undefined, 'no LevelDB log file: ' + readdirSync(path).join(','))
  const bytes = readFileSync(join(path, log!))
  writeFileSync(join(path, log!), bytes.subarray(0, bytes.length - 150)) // the last record is cut in half
  const p2 = open(path)
  await p2.setup({ id: 'b2' })
  const kept = (await list(p2.createRetainedStream('torn/+'))).map((m) => m.topic as string)
  assert.ok(kept.length >= 15, `only ${kept.length} of 20 records survived a 150-byte tear: ${kept.join(',')}`)
  assert.not.ok(kept.includes('torn/19') && kept.length === 20, 'the torn record cannot have survived whole')
  await p2.close()
})

test('a path that is a file is refused and left as it was, never moved aside as if it were a damaged store', async () => {
  const path = fresh()
  writeFileSync(path, 'this is a file, not a LevelDB folder')
  const lines: string[] = []
  const p = open(path, lines)
  try {
    await p.ready()
    assert.unreachable('opened a file as a store')
  } catch (err) {
    assert.ok(isEdgemqError(err, ERROR_CODES.PERSISTENCE_FAILED), String(err))
    assert.match((err as Error).message, /is a file, not a store folder/)
  }
  await p.close()
  assert.is(readdirSync(dir).filter((f) => f.startsWith(`db-${n}.corrupt-`)).length, 0)
  assert.is(readFileSync(path, 'utf8'), 'this is a file, not a LevelDB folder')
  assert.not.ok(lines.some((l) => l.includes('moved aside')), lines.join('\n'))
})

test('a store of a newer format version is refused with the fix in the message', async () => {
  const path = fresh()
  const p = open(path)
  await p.setup({ id: 'b1' })
  await p.close()
  await raw(path, async (db) => { await db.put(Buffer.from('Mformat'), Buffer.from('edgemq-persistence/99')) })
  const p2 = open(path)
  try {
    await p2.setup({ id: 'b2' })
    assert.unreachable('opened a format-99 store')
  } catch (err) {
    assert.ok(isEdgemqError(err, ERROR_CODES.PERSISTENCE_FORMAT), String(err))
    assert.match((err as Error).message, /format 99, written by a newer edgemq/)
    assert.match((err as Error).message, /upgrade edgemq/)
  }
  await p2.close()
  assert.ok(existsSync(path), 'the refused store is left untouched')
})

test('a LevelDB that is not an edgemq store (no format key) is refused', async () => {
  const path = fresh()
  await raw(path, async (db) => { await db.put(Buffer.from('retained:hello'), Buffer.from('{}')) })
  const p = open(path)
  try {
    await p.ready()
    assert.unreachable('opened a foreign store')
  } catch (err) {
    assert.ok(isEdgemqError(err, ERROR_CODES.PERSISTENCE_FORMAT), String(err))
    assert.match((err as Error).message, /not an edgemq store/)
  }
  await p.close()
})

test('a store locked by another process is refused, not repaired or moved', async () => {
  const path = fresh()
  const p = open(path)
  await p.setup({ id: 'b1' })
  const p2 = open(path)
  try {
    await p2.ready()
    assert.unreachable('opened a locked store')
  } catch (err) {
    assert.ok(isEdgemqError(err, ERROR_CODES.PERSISTENCE_FAILED), String(err))
    assert.match((err as Error).message, /locked by another process/)
  }
  await p2.close()
  await p.close()
  assert.is(readdirSync(dir).filter((f) => f.startsWith(`db-${n}.corrupt`)).length, 0)
})

test.run()
