// A hostile or broken upstream (failure-modes row 17): bad CONNACKs,
// malformed and oversized packets, silence, unsolicited PUBLISHes. The bridge
// must drop the connection, back off and retry, keep every queued message,
// and the local broker must not notice.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt from 'mqtt'
import { parseConfigText } from '../../src/config/config-file.ts'
import { resolveConfig } from '../../src/config/load-config.ts'
import { MosquittoProcess } from '../helpers/mosquitto-process.ts'
import { checkInOrder, record, sleep, startGateway, waitFor } from './bridge-fixtures.ts'

/** A fake upstream that answers every CONNECT with `reply` (bytes, or a function of the socket). */
async function fakeUpstream (reply: Buffer | ((s: Socket) => void)): Promise<{ server: Server, port: number, connections: () => number, close: () => Promise<void> }> {
  let connections = 0
  const sockets = new Set<Socket>()
  const server = createServer((s) => {
    connections++
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
    s.on('error', () => {})
    s.once('data', () => { if (typeof reply === 'function') reply(s); else s.write(reply) })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    server,
    port: (server.address() as { port: number }).port,
    connections: () => connections,
    close: async () => { for (const s of sockets) s.destroy(); await new Promise<void>((resolve) => server.close(() => resolve())) }
  }
}

const yaml = (url: string, dataDir: string, protocolVersion = 4): string => `
listeners:
  - { name: tcp, type: tcp, host: 127.0.0.1, port: 0 }
persistence: { path: ${dataDir} }
bridges:
  - name: cloud
    url: ${url}
    protocolVersion: ${protocolVersion}
    clientId: gw-hostile
    connectTimeout: 1s
    maxPacketSize: 64KB
    topics:
      - { filter: sensors/#, direction: out, qos: 1 }
      - { filter: cmd/#, direction: in, qos: 1 }
    reconnect: { initialDelay: 100ms, maxDelay: 400ms }
`

const CONNACK_OK_V4 = Buffer.from([0x20, 0x02, 0x00, 0x00])
const cases: Array<{ name: string, reply: Buffer | ((s: Socket) => void), error: RegExp, protocolVersion?: number }> = [
  { name: 'a CONNACK refusing the connection (not authorized)', reply: Buffer.from([0x20, 0x02, 0x00, 0x05]), error: /Not authorized|refused/i },
  { name: 'a v5 CONNACK with a bad reason code and truncated properties', reply: Buffer.from([0x20, 0x03, 0x00, 0x87, 0x05]), error: /./, protocolVersion: 5 },
  { name: 'garbage instead of a CONNACK', reply: Buffer.from([0xf0, 0x00, 0xde, 0xad, 0xbe, 0xef]), error: /./ },
  { name: 'a packet declaring 200 MB after the CONNACK', reply: Buffer.concat([CONNACK_OK_V4, Buffer.from([0x30, 0x80, 0x80, 0x80, 0x60]), Buffer.alloc(1000)]), error: /over bridge maxPacketSize/ },
  { name: 'a five-byte remaining length', reply: Buffer.concat([CONNACK_OK_V4, Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01])]), error: /malformed remaining length/ },
  { name: 'silence after CONNECT', reply: () => {}, error: /CONNACK|timeout/i },
  { name: 'the connection closed right after CONNECT', reply: (s) => { s.destroy() }, error: /./ }
]

const Hostile = suite('hostile upstream')
let dir: string
Hostile.before(async () => { dir = await mkdtemp(join(tmpdir(), 'edgemq-bridge-hostile-')) })
Hostile.after(async () => { await rm(dir, { recursive: true, force: true }) })

for (const c of cases) {
  Hostile(`${c.name}: the bridge disconnects, backs off, retries, and the local broker carries on`, async () => {
    const fake = await fakeUpstream(c.reply)
    const gw = await startGateway(yaml(`mqtt://127.0.0.1:${fake.port}`, join(dir, c.name.replace(/\W+/g, '-')), c.protocolVersion))
    const local = await record(gw.port, ['sensors/#'])
    try {
      await waitFor(() => fake.connections() >= 3, 15_000, 'three connection attempts')
      const s = gw.bridges().status()[0]
      assert.is(s.connected, false)
      assert.match(s.lastError ?? '', c.error)
      // The local broker is untouched: publish and receive locally, and the message is queued for the upstream.
      await local.client.publishAsync('sensors/t', 'still-here', { qos: 1 })
      await local.until((r) => r.messages.some((m) => String(m.payload) === 'still-here'))
      assert.is(gw.bridges().status()[0].queue.messages, 1)
      // Backoff: a flood of attempts would show hundreds in a second.
      const before = fake.connections()
      await sleep(1000)
      assert.ok(fake.connections() - before <= 12, `${fake.connections() - before} attempts in 1 s`)
    } finally {
      await local.close()
      await gw.stop()
      await fake.close()
    }
  })
}

Hostile('unsolicited and $SYS PUBLISHes from the upstream are dropped, not published locally', async () => {
  const publish = (topic: string, payload: string): Buffer => {
    const t = Buffer.from(topic)
    const p = Buffer.from(payload)
    return Buffer.concat([Buffer.from([0x30, 2 + t.length + p.length, 0, t.length]), t, p])
  }
  const fake = await fakeUpstream((s) => {
    s.write(CONNACK_OK_V4)
    setTimeout(() => s.write(Buffer.concat([publish('other/x', 'a'), publish('$SYS/broker/x', 'b'), publish('cmd/ok', 'c')])), 200)
  })
  const gw = await startGateway(yaml(`mqtt://127.0.0.1:${fake.port}`, join(dir, 'unsolicited')))
  const local = await record(gw.port, ['#', '$SYS/broker/x'])
  try {
    await local.until((r) => r.messages.some((m) => m.topic === 'cmd/ok'))
    await sleep(200)
    assert.equal(local.messages.map((m) => m.topic).filter((t) => !t.startsWith('$SYS/broker/') || t === '$SYS/broker/x'), ['cmd/ok'])
    assert.is(gw.bridges().status()[0].counters.unsolicitedDropped, 2)
  } finally {
    await local.close()
    await gw.stop()
    await fake.close()
  }
})

Hostile('after a hostile upstream, a reload to a real mosquitto delivers everything queued, in order', async () => {
  const fake = await fakeUpstream(Buffer.from([0x20, 0x02, 0x00, 0x05]))
  const mosq = await MosquittoProcess.start()
  const dataDir = join(dir, 'reload')
  const gw = await startGateway(yaml(`mqtt://127.0.0.1:${fake.port}`, dataDir))
  const sensor = await mqtt.connectAsync(`mqtt://127.0.0.1:${gw.port}`)
  const up = await record(mosq.port, ['sensors/#'])
  try {
    for (let i = 0; i < 300; i++) await sensor.publishAsync('sensors/n', String(i), { qos: 1 })
    assert.is(gw.bridges().status()[0].queue.messages, 300)
    const { config } = await resolveConfig({ file: parseConfigText(yaml(`mqtt://127.0.0.1:${mosq.port}`, dataDir), join(dir, 'x.yaml')), flags: { board: 'generic' } })
    await gw.bridges().reload(config)
    await up.until((r) => r.messages.length >= 300)
    assert.is(checkInOrder(up.messages.map((m) => Number(m.payload)), 300), undefined)
  } finally {
    await sensor.endAsync(true)
    await up.close()
    await gw.stop()
    await fake.close()
    await mosq.dispose()
  }
})

Hostile.run()
