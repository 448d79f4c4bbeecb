// One write path and one meaning of "done" (issue 11): a promise of the store
// resolves when its write is in the write queue (or on disk, per the sync
// mode), and replay and close() wait for everything in that path, with the
// offline-queue bounds on. Before the fix, an enqueue for a client whose
// queue figures were not loaded yet waited in a promise chain that the write
// queue could not see: replayJournal() and close() resolved while it was
// still pending.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { createLevelPersistence, type LevelPersistence, type LevelPersistenceOptions } from '../../src/persistence/level-persistence.ts'

const dir = mkdtempSync(join(tmpdir(), 'edgemq-wp-'))
let n = 0
test.after(() => rmSync(dir, { recursive: true, force: true }))

const BOUNDS = { maxQueuedMessages: 10_000, maxQueuedBytes: 64 << 20 }
function fresh (): string { return join(dir, `db-${++n}`) }
async function open (path: string, extra: Partial<LevelPersistenceOptions> = BOUNDS): Promise<LevelPersistence> {
  const p = createLevelPersistence({ path, sync: 'batch', syncInterval: 1000, cacheSize: 1 << 20, writeBufferSize: 1 << 20, ...extra })
  await p.setup({ id: 'b1' })
  return p
}
async function list (s: Readable): Promise<any[]> { const out: any[] = []; for await (const x of s) out.push(x); return out }
async function payloadsOf (p: LevelPersistence, clientId: string): Promise<string[]> {
  return (await list(p.outgoingStream({ id: clientId }))).map((m) => m.payload.toString())
}
/**
 * A process kill at this instant: a synchronous copy of the store's files is
 * what the disk holds when the process dies (LevelDB's log is written with
 * write(2) before a batch resolves, so the copy has every landed batch and
 * nothing still pending). Returns the copy's path; the original is closed.
 */
async function crash (p: LevelPersistence): Promise<string> {
  const copy = fresh()
  cpSync(p.options.path, copy, { recursive: true })
  await p.close().catch(() => {})
  return copy
}
/** What aedes's publish pipeline does with a message: offline queues of its persistent subscribers. */
async function route (p: LevelPersistence, packet: Record<string, unknown>, counter: number): Promise<void> {
  const subs = await p.subscriptionsByTopic(packet.topic as string)
  await p.outgoingEnqueueCombi(subs.map((s) => ({ clientId: s.clientId })), { ...packet, brokerId: 'b1', brokerCounter: counter })
}

test('replayJournal resolves once every replayed message is in its queue (bounds on): a kill right after it loses nothing and replays nothing', async () => {
  const path = fresh()
  const p = await open(path)
  const subscribers = Array.from({ length: 20 }, (_, i) => `s${i}`)
  for (const id of subscribers) await p.addSubscriptions({ id }, [{ topic: `t/${id}`, qos: 1 }])
  let id = 0
  for (let m = 0; m < 5; m++) for (const s of subscribers) await p.journalIncoming('pub', { cmd: 'publish', topic: `t/${s}`, payload: Buffer.from(`${s}-${m}`), qos: 1, messageId: (++id % 65535) + 1, retain: false })
  const path2 = await crash(p) // acknowledged, never routed: all 100 are in the journal only

  const p2 = await open(path2)
  let counter = 0
  assert.is(await p2.replayJournal(async (packet) => { await route(p2, packet, ++counter) }), 100)
  const path3 = await crash(p2) // the instant replay says it is done

  const p3 = await open(path3)
  assert.is(await p3.replayJournal(async (packet) => { await route(p3, packet, ++counter) }), 0, 'replay left entries behind: its enqueues had not landed when it resolved')
  for (const s of subscribers) assert.equal(await payloadsOf(p3, s), [0, 1, 2, 3, 4].map((m) => `${s}-${m}`), s)
  await p3.close()
})

test('close() lands a journaled enqueue still loading its client\'s queue figures: nothing is left to replay', async () => {
  const path = fresh()
  const p0 = await open(path)
  await p0.addSubscriptions({ id: 'sub' }, [{ topic: 'c/#', qos: 1 }])
  // a queue left by an earlier run: loading its figures is a scan that takes a while
  const old = Array.from({ length: 3000 }, (_, i) => `old${i}`)
  await Promise.all(old.map(async (m, i) => { await p0.outgoingEnqueueCombi([{ clientId: 'sub' }], { cmd: 'publish', topic: 'c/old', payload: Buffer.from(m), qos: 1, retain: false, dup: false, brokerId: 'b0', brokerCounter: i + 1 }) }))
  await p0.close()
  const p = await open(path)
  const packets = Array.from({ length: 10 }, (_, i) => ({ cmd: 'publish', topic: `c/${i}`, payload: Buffer.from(`c${i}`), qos: 1, messageId: i + 1, retain: false }))
  for (const packet of packets) await p.journalIncoming('pub', packet) // the PUBACK goes out here
  // aedes routes without waiting for a journaled message's enqueue, then the broker closes
  const routed = packets.map(async (packet, i) => { await route(p, packet, i + 1) })
  await Promise.all(routed)
  await p.close()

  const p2 = await open(path)
  assert.is(await p2.replayJournal(async () => {}), 0, 'close() resolved before the enqueues landed')
  assert.equal(await payloadsOf(p2, 'sub'), [...old, ...packets.map((x) => x.payload.toString())])
  await p2.close()
})

test('a non-journaled enqueue resolves only once it has landed, also while its client\'s figures load', async () => {
  const path = fresh()
  const p = await open(path)
  await p.outgoingEnqueueCombi([{ clientId: 'late' }], { cmd: 'publish', topic: 'x', payload: Buffer.from('x1'), qos: 1, retain: false, dup: false, brokerId: 'b1', brokerCounter: 1 })
  const p2 = await open(await crash(p))
  assert.equal(await payloadsOf(p2, 'late'), ['x1'])
  await p2.close()
})

test.run()
