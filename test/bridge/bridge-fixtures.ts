// Shared pieces of the bridge tests: a real LevelDB in a temp dir, a local
// broker (the real edgemq core, in process) with the bridge part attached,
// and an MQTT.js consumer that records what arrives.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Level } from 'level'
import mqtt, { type MqttClient, type IClientOptions } from 'mqtt'
import { attachBridgesPart, type BridgePartHandle } from '../../src/bridge/bridge-part.ts'
import type { BridgeStore } from '../../src/bridge/bridge-store.ts'
import type { AttachPart } from '../../src/part-context.ts'
import { startBrokerInProcess, type InProcessBroker } from '../helpers/broker-process.ts'
import type { Logger } from '../../src/observability/logger.ts'
import { waitUntil } from '../helpers/wait-until.ts'

/** A LevelDB in a temp dir with the `bridge` sublevel the persistence part would hand out. */
export interface TempStore {
  dir: string
  db: Level<string, Buffer>
  store: BridgeStore
  /** Closes and reopens the same files (a restart). */
  reopen: () => Promise<void>
  dispose: () => Promise<void>
}

/** Opens a fresh LevelDB for a test. */
export async function openTempStore (): Promise<TempStore> {
  const dir = await mkdtemp(join(tmpdir(), 'edgemq-bridge-'))
  const t: TempStore = {
    dir,
    db: new Level<string, Buffer>(join(dir, 'db'), { valueEncoding: 'buffer' }),
    store: undefined as unknown as BridgeStore,
    reopen: async () => {
      await t.db.close()
      t.db = new Level<string, Buffer>(join(dir, 'db'), { valueEncoding: 'buffer' })
      await t.db.open()
      t.store = t.db.sublevel<string, Buffer>('bridge', { valueEncoding: 'buffer' })
    },
    dispose: async () => {
      await t.db.close()
      await rm(dir, { recursive: true, force: true })
    }
  }
  await t.db.open()
  t.store = t.db.sublevel<string, Buffer>('bridge', { valueEncoding: 'buffer' })
  return t
}

/** An edgemq core in this process with the bridge part attached; `bridges()` is its handle. */
export async function startGateway (yaml: string, options: { logger?: Logger } = {}): Promise<InProcessBroker & { bridges: () => BridgePartHandle }> {
  let handle: BridgePartHandle | undefined
  const part: AttachPart = async (ctx) => { handle = await attachBridgesPart(ctx) as BridgePartHandle; return handle }
  const b = await startBrokerInProcess(yaml, { parts: [part], logger: options.logger })
  return Object.assign(b, { bridges: () => handle as BridgePartHandle })
}

/** A client that records every message it gets. */
export interface Recorder {
  client: MqttClient
  messages: Array<{ topic: string, payload: Buffer, retain: boolean, qos: number }>
  /** Resolves when `pred` holds (checked on each message), or rejects after timeoutMs. */
  until: (pred: (r: Recorder) => boolean, timeoutMs?: number, what?: string) => Promise<void>
  close: () => Promise<void>
}

/** Connects an MQTT.js client to 127.0.0.1:port and subscribes to `filters`. */
export async function record (port: number, filters: string[], options: IClientOptions = {}): Promise<Recorder> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 200, ...options })
  const r: Recorder = {
    client,
    messages: [],
    until: async (pred, timeoutMs = 20_000, what = 'the expected messages') => {
      const deadline = Date.now() + timeoutMs
      while (!pred(r)) {
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; got ${r.messages.length} messages`)
        await sleep(20)
      }
    },
    close: async () => { await client.endAsync(true) }
  }
  client.on('message', (topic, payload, packet) => { r.messages.push({ topic, payload, retain: packet.retain, qos: packet.qos }) })
  if (filters.length > 0) await client.subscribeAsync(filters, { qos: 1 })
  return r
}

/** Waits `ms`. */
export async function sleep (ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms))
}

/** Resolves when `pred()` holds, polling every 20 ms; rejects with `what` after timeoutMs. */
export async function waitFor (pred: () => boolean, timeoutMs = 20_000, what = 'a condition'): Promise<void> {
  await waitUntil(what, pred, timeoutMs)
}

/**
 * Checks a sequence of numbered payloads: the first arrival of each number
 * must be 0..n-1 in order (repeats are QoS 1 redeliveries and allowed).
 * Returns a problem sentence, or undefined.
 */
export function checkInOrder (seqs: number[], n: number): string | undefined {
  const seen = new Set<number>()
  let expect = 0
  for (const s of seqs) {
    if (seen.has(s)) continue
    if (s !== expect) return `message ${s} arrived first where ${expect} was due (after ${seen.size} distinct)`
    seen.add(s)
    expect++
  }
  return expect === n ? undefined : `only ${expect} of ${n} distinct messages arrived`
}
