// Why the incoming journal exists: a QoS 1 message acknowledged before its
// offline-queue write landed survives a process kill only through the journal.
// The kill is a synchronous copy of the store's files at that instant (what
// the disk holds when the process dies: a landed batch is in LevelDB's log,
// written with write(2); nothing pending is). The broker as it ships under
// kill -9 is tested in kill9-stream.test.ts and test/e2e/persistence-kill9.test.ts.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { createLevelPersistence, type LevelPersistence } from '../../src/persistence/level-persistence.ts'

const dir = mkdtempSync(join(tmpdir(), 'edgemq-journal-kill9-'))
let n = 0
test.after(() => rmSync(dir, { recursive: true, force: true }))

function fresh (): string { return join(dir, `db-${++n}`) }
async function open (path: string): Promise<LevelPersistence> {
  const p = createLevelPersistence({ path, sync: 'batch', syncInterval: 1000, cacheSize: 1 << 20, writeBufferSize: 1 << 20, maxQueuedBytes: 128 << 20 })
  await p.setup({ id: 'b1' })
  return p
}
async function kill (p: LevelPersistence): Promise<string> {
  const copy = fresh()
  cpSync(p.options.path, copy, { recursive: true })
  await p.close().catch(() => {})
  return copy
}
async function queueOf (p: LevelPersistence, clientId: string): Promise<string[]> {
  const out: string[] = []
  for await (const m of p.outgoingStream({ id: clientId }) as Readable) out.push((m as { payload: Buffer }).payload.toString())
  return out
}

async function acknowledgedThenKilled (journal: boolean): Promise<string[]> {
  const p = await open(fresh())
  await p.addSubscriptions({ id: 'sub' }, [{ topic: 'stall/#', qos: 1 }])
  const packet = { cmd: 'publish', topic: 'stall/a', payload: Buffer.from('acknowledged-1'), qos: 1, messageId: 1, retain: false }
  if (journal) await p.journalIncoming('pub', packet) // what src/broker.ts does before the PUBACK
  // the PUBACK is out; the process dies before aedes routes the message
  const p2 = await open(await kill(p))
  await p2.replayJournal(async (replayed) => {
    const subs = await p2.subscriptionsByTopic(replayed.topic as string)
    await p2.outgoingEnqueueCombi(subs.map((s) => ({ clientId: s.clientId })), { ...replayed, brokerId: 'b2', brokerCounter: 1 })
  })
  const got = await queueOf(p2, 'sub')
  await p2.close()
  return got
}

test('a QoS 1 message acknowledged before it was routed is in its subscriber\'s queue after a kill (journal replay)', async () => {
  assert.equal(await acknowledgedThenKilled(true), ['acknowledged-1'])
})

test('without the journal the same acknowledged message is lost (why the journal exists)', async () => {
  assert.equal(await acknowledgedThenKilled(false), [])
})

test.run()
