// Store-level figures for docs/persistence.md (not part of the test suite):
//   node --import tsx test/persistence/bench/store-bench.ts [batch|always|never]
// enqueue: 100k QoS 1 messages (256-byte payload) for 1,000 persistent clients,
// 64 publishes in flight (group commit); drain: what aedes does per client on
// reconnect (stream, give a packet id, acknowledge), 50 clients at once after a
// restart; bytes: /proc/self/io per persisted message (journal + queue + ack).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLevelPersistence, type LevelPersistence } from '../../../src/persistence/level-persistence.ts'

const mode = (process.argv[2] ?? 'batch') as 'batch' | 'always' | 'never'
const CLIENTS = 1000
const PER_CLIENT = 100
const TOTAL = CLIENTS * PER_CLIENT
const dir = mkdtempSync(join(tmpdir(), 'edgemq-bench-'))
const payload = Buffer.alloc(256, 0x61)

function io (): { wchar: number, writeBytes: number } {
  const text = readFileSync('/proc/self/io', 'utf8')
  const get = (k: string): number => Number(new RegExp(`^${k}: (\\d+)$`, 'm').exec(text)?.[1] ?? 0)
  return { wchar: get('wchar'), writeBytes: get('write_bytes') }
}

function open (): LevelPersistence {
  return createLevelPersistence({ path: join(dir, 'db'), sync: mode, syncInterval: 1000, cacheSize: 8 << 20, writeBufferSize: 4 << 20 })
}

async function pool (n: number, jobs: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: jobs }, async () => { for (let i = next++; i < n; i = next++) await fn(i) }))
}

const p = open()
await p.setup({ id: 'bench' })
let counter = 0
// enqueue: each message goes to one client (round robin), like 1,000 sessions with one subscription each
const before = io()
let t0 = performance.now()
await pool(TOTAL, 64, async (i) => {
  const packet = { cmd: 'publish', topic: `site/${i % CLIENTS}/temp`, payload, qos: 1, retain: false, dup: false, brokerId: 'bench', brokerCounter: ++counter, messageId: i % 65535 + 1 }
  await p.journalIncoming(`pub-${i % 16}`, packet)
  await p.outgoingEnqueueCombi([{ clientId: `c${i % CLIENTS}` }], packet)
})
const enqueueMs = performance.now() - t0
const after = io()
await p.close()

// drain after a restart
const p2 = open()
t0 = performance.now()
await p2.setup({ id: 'bench-2' })
const setupMs = performance.now() - t0
let drained = 0
t0 = performance.now()
await pool(CLIENTS, 50, async (c) => {
  const client = { id: `c${c}` }
  let mid = 0
  const acks: Array<Promise<unknown>> = []
  for await (const m of p2.outgoingStream(client)) {
    const sent = { ...m, messageId: ++mid }
    await p2.outgoingUpdate(client, sent) // aedes awaits this before writing the PUBLISH
    acks.push(p2.outgoingClearMessageId(client, { messageId: mid })) // the PUBACK arrives later, off the drain path
    drained++
  }
  await Promise.all(acks)
})
const drainMs = performance.now() - t0
await p2.close()
rmSync(dir, { recursive: true, force: true })

const result = {
  mode,
  messages: TOTAL,
  enqueuePerSec: Math.round(TOTAL / (enqueueMs / 1000)),
  setupMs: Math.round(setupMs),
  drained,
  drainSec: +(drainMs / 1000).toFixed(2),
  drainPerSec: Math.round(drained / (drainMs / 1000)),
  wcharPerMessage: Math.round((after.wchar - before.wchar) / TOTAL),
  writeBytesPerMessage: Math.round((after.writeBytes - before.writeBytes) / TOTAL)
}
console.log(JSON.stringify(result))
