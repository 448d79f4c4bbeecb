// State is freed when clients leave (issue 15: with no client connected,
// `ctl limits.get` counted 26 clients and `throttle.get` listed 26 ids, one
// added by about every other short-lived mosquitto_pub). 10,000
// connect/publish/disconnect cycles on real sockets, in the shapes real
// clients have (mosquitto_pub writes CONNECT, PUBLISH and DISCONNECT in one
// go and closes; a careful client waits for CONNACK and PUBACK; a client dies
// without DISCONNECT), with a per-client throttle configured; then every
// per-client map is back to zero and the heap is back within a few MiB.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { connect } from 'node:net'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import mqttPacket from 'mqtt-packet'
import { startBroker, type EdgemqBroker } from '../../src/broker.ts'
import { PARTS } from '../../src/parts.ts'
import { parseConfigText } from '../../src/config/config-file.ts'
import { resolveConfig } from '../../src/config/load-config.ts'
import { silentLogger } from '../../src/observability/logger.ts'
import { callControl } from '../../src/control/control-client.ts'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const CYCLES = Number(process.env.EDGEMQ_CHURN_CYCLES ?? 10_000)
const PARALLEL = 16

let dir = ''
let broker: EdgemqBroker
let port = 0
const sock = (): string => join(dir, 'control.sock')

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgemq-churn-'))
  const file = parseConfigText(`persistence: { path: ${join(dir, 'data')} }
control: { socket: ${sock()} }
board: generic
listeners:
  - { name: local, type: tcp, host: 127.0.0.1, port: 0 }
throttle:
  client: { inboundMessagesPerSecond: 1000 }
`, join(dir, 'site.yaml'))
  broker = await startBroker((await resolveConfig({ file })).config, silentLogger, PARTS)
  port = broker.addresses()[0].port
})

test.after(async () => {
  await broker.close()
  await rm(dir, { recursive: true, force: true })
})

const gen = (p: Record<string, unknown>): Buffer => mqttPacket.generate(p as unknown as mqttPacket.Packet)

/** One short-lived client; `shape` picks how it talks and leaves. */
async function cycle (i: number, ids: number): Promise<void> {
  const shape = ((i % 3) + 3) % 3
  const clientId = `churn-${((i % ids) + ids) % ids}`
  await new Promise<void>((resolve, reject) => {
    const s = connect(port, '127.0.0.1')
    const parser = mqttPacket.parser({ protocolVersion: 4 })
    const timer = setTimeout(() => { s.destroy(); reject(new Error(`cycle ${i} (shape ${shape}) timed out`)) }, 20_000)
    s.once('close', () => { clearTimeout(timer); resolve() })
    s.on('error', () => {})
    s.on('data', (d) => parser.parse(d))
    const conn = gen({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 30, clientId })
    const pub = gen({ cmd: 'publish', topic: `churn/${i}`, payload: Buffer.from('x'), qos: shape === 1 ? 1 : 0, messageId: 1, retain: false, dup: false })
    const disc = gen({ cmd: 'disconnect' })
    if (shape === 0) {
      // mosquitto_pub: everything in one write, then gone
      s.end(Buffer.concat([conn, pub, disc]))
      return
    }
    parser.on('packet', (p: { cmd: string }) => {
      if (p.cmd === 'connack') {
        s.write(pub)
        if (shape === 2) s.destroy() // dies without DISCONNECT right after publishing
      }
      if (p.cmd === 'puback') s.end(disc)
    })
    s.write(conn)
  })
}

async function perClientCounts (): Promise<{ limitsClients: number, throttleClients: number, connected: number }> {
  const limits = await callControl(sock(), 'limits.get') as { clients: number }
  const throttle = await callControl(sock(), 'throttle.get') as { clients: unknown[] }
  const connected = await callControl(sock(), 'clients.count') as number
  return { limitsClients: limits.clients, throttleClients: throttle.clients.length, connected }
}

async function settle (): Promise<{ limitsClients: number, throttleClients: number, connected: number }> {
  // the broker sees the last closes a moment after the client does
  let counts = await perClientCounts()
  for (let i = 0; i < 100 && (counts.connected > 0 || counts.limitsClients > 0 || counts.throttleClients > 0); i++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    counts = await perClientCounts()
  }
  return counts
}

async function heapAfterGc (): Promise<number> {
  // A connection the broker closed keeps its socket for up to 2 s while its
  // last bytes flush (FLUSH_TIMEOUT_MS in src/protocol/aedes-v5-shims.ts).
  await new Promise((resolve) => setTimeout(resolve, 2500))
  for (let i = 0; i < 3; i++) { gc(); await new Promise((resolve) => setImmediate(resolve)) }
  return process.memoryUsage().heapUsed
}

async function churn (ids: number): Promise<{ counts: Awaited<ReturnType<typeof settle>>, heapStart: number, heapEnd: number }> {
  // warm up (first-use allocations of every code path and of the ids), then measure
  for (let i = 0; i < Math.min(Math.max(300, ids), 1000); i++) await cycle(i, ids)
  await settle()
  const heapStart = await heapAfterGc()
  let next = 0
  await Promise.all(Array.from({ length: PARALLEL }, async () => {
    for (let i = next++; i < CYCLES; i = next++) await cycle(i, ids)
  }))
  const counts = await settle()
  return { counts, heapStart, heapEnd: await heapAfterGc() }
}

// A fleet of 200 sensors that reconnect all day (the gateway).
test(`after ${CYCLES} connect/publish/disconnect cycles of 200 sensors every per-client map is empty and the heap is back`, async () => {
  const { counts, heapStart, heapEnd } = await churn(200)
  assert.equal(counts, { limitsClients: 0, throttleClients: 0, connected: 0 }, 'per-client state after every client left')
  const grownMiB = (heapEnd - heapStart) / 1048576
  console.log(`churn: ${CYCLES} cycles, heap ${(heapStart / 1048576).toFixed(1)} -> ${(heapEnd / 1048576).toFixed(1)} MiB (${grownMiB >= 0 ? '+' : ''}${grownMiB.toFixed(2)} MiB)`)
  assert.ok(grownMiB < 4, `heap grew ${grownMiB.toFixed(2)} MiB over ${CYCLES} cycles`)
})

// mosquitto_pub's random client ids: nothing per client may stay once it left,
// the persistence's outgoing-message index included (it kept ~1 KB per client
// id ever seen, +6 MiB per 10,000 ids, until OutgoingStore.forgetIfEmpty).
test(`with a new client id every cycle (mosquitto_pub) every per-client map is empty and the heap is back`, async () => {
  const { counts, heapStart, heapEnd } = await churn(1_000_000)
  assert.equal(counts, { limitsClients: 0, throttleClients: 0, connected: 0 })
  const grownMiB = (heapEnd - heapStart) / 1048576
  console.log(`churn, unique ids: ${CYCLES} cycles, heap ${(heapStart / 1048576).toFixed(1)} -> ${(heapEnd / 1048576).toFixed(1)} MiB (${grownMiB >= 0 ? '+' : ''}${grownMiB.toFixed(2)} MiB)`)
  assert.ok(grownMiB < 4, `heap grew ${grownMiB.toFixed(2)} MiB over ${CYCLES} cycles of new client ids`)
})

test.run()
