// The frame guard on every listener: a packet announcing more than
// limits.maxPacketSize is refused from its fixed header, before its body is
// buffered; a connected MQTT 5 client hears DISCONNECT 0x95 Packet too large
// first [MQTT-3.2.2-15] (a 3.1.1 client, or one not yet connected, is closed).
// Real listeners (tcp, tls, ws, wss) on loopback, raw bytes from the client.
import { connect as netConnect } from 'node:net'
import { PassThrough } from 'node:stream'
import { connect as tlsConnect } from 'node:tls'
import mqttPacket from 'mqtt-packet'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import WebSocket from 'ws'
import { guardFrames } from '../../src/listeners/frame-guard.ts'
import { REASON } from '../../src/reason-codes.ts'
import { type InProcessBroker } from '../helpers/broker-process.ts'
import { startFourListenerBroker, type FourListenerBroker } from '../helpers/four-listener-broker.ts'

type AnyPacket = Record<string, any> & { cmd: string }

/** A PUBLISH fixed header announcing `size` bytes of remaining length, and the first bytes of its body. */
function announce (size: number, bodyBytes: number): Buffer {
  const len: number[] = []
  let n = size
  do { let b = n % 128; n = Math.floor(n / 128); if (n > 0) b |= 0x80; len.push(b) } while (n > 0)
  // topic "t" then payload bytes: a plausible start of a real PUBLISH
  return Buffer.concat([Buffer.from([0x30, ...len, 0x00, 0x01, 0x74]), Buffer.alloc(bodyBytes, 0x61)])
}

const TWO_HUNDRED_MB = 200 * 1024 * 1024

// ---- the stage alone ---------------------------------------------------------

const unit = suite('frame guard (the stage alone)')

unit('packets within the limit pass unchanged; an oversized one is cut at its header and reported once', async () => {
  const stream = new PassThrough()
  const guard = guardFrames(stream, () => 1000)
  const reported: Array<[number, number]> = []
  guard.onOversize = (size, limit) => { reported.push([size, limit]) }
  const small = mqttPacket.generate({ cmd: 'publish', topic: 'a', payload: Buffer.alloc(100), qos: 0, retain: false, dup: false } as mqttPacket.Packet)
  const got: Buffer[] = []
  stream.on('data', (d: Buffer) => got.push(d))
  stream.write(small)
  stream.write(Buffer.concat([small, announce(TWO_HUNDRED_MB, 64)]))
  stream.write(Buffer.alloc(64 * 1024, 0x61)) // more of the refused body: dropped
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(Buffer.concat(got), Buffer.concat([small, small]), 'the two small packets, nothing of the big one')
  assert.equal(reported, [[TWO_HUNDRED_MB + 5, 1000]])
  assert.ok(guard.refused)
})

unit('a malformed remaining length is left to the parser (framing lost: the guard stops)', async () => {
  const stream = new PassThrough()
  const guard = guardFrames(stream, () => 1000)
  guard.onOversize = () => { assert.unreachable('not an oversize') }
  const got: Buffer[] = []
  stream.on('data', (d: Buffer) => got.push(d))
  const bad = Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01])
  stream.write(bad)
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(Buffer.concat(got), bad)
  assert.not.ok(guard.refused)
})

unit.run()

// ---- every listener type -------------------------------------------------------

const e2e = suite<{ b: InProcessBroker, cert: Buffer, listeners: FourListenerBroker }>('frame guard on tcp, tls, ws and wss listeners')

e2e.before(async (ctx) => {
  ctx.listeners = await startFourListenerBroker('{ maxPacketSize: 256KB }')
  ctx.b = ctx.listeners.b
  ctx.cert = ctx.listeners.cert
})
e2e.after(async (ctx) => {
  await ctx.listeners?.stop()
})

/** A raw MQTT byte connection over any listener type. */
interface RawLink {
  send: (bytes: Buffer) => void
  next: (cmd: string) => Promise<AnyPacket>
  closed: Promise<void>
  packets: AnyPacket[]
  end: () => void
}

async function openLink (listener: string, port: number, cert: Buffer, version: 4 | 5): Promise<RawLink> {
  const parser = mqttPacket.parser({ protocolVersion: version })
  const packets: AnyPacket[] = []
  const waiters: Array<() => void> = []
  let isClosed = false
  let onClosed: () => void = () => {}
  const closed = new Promise<void>((resolve) => { onClosed = resolve })
  const wake = (): void => { for (const w of waiters.splice(0)) w() }
  parser.on('packet', (p: AnyPacket) => { packets.push(p); wake() })
  const close = (): void => { isClosed = true; wake(); onClosed() }
  let send: (b: Buffer) => void
  let end: () => void
  if (listener === 'tcp' || listener === 'tls') {
    const socket = listener === 'tcp' ? netConnect(port, '127.0.0.1') : tlsConnect({ port, host: '127.0.0.1', ca: cert })
    await new Promise<void>((resolve, reject) => { socket.once(listener === 'tcp' ? 'connect' : 'secureConnect', () => resolve()); socket.once('error', reject) })
    socket.on('data', (d: Buffer) => parser.parse(d))
    socket.on('error', () => {})
    socket.on('close', close)
    send = (b) => { if (!socket.destroyed) socket.write(b) }
    end = () => { socket.destroy() }
  } else {
    const ws = new WebSocket(`${listener}://127.0.0.1:${port}/mqtt`, 'mqtt', { ca: cert })
    await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject) })
    ws.on('message', (d: Buffer) => parser.parse(d))
    ws.on('error', () => {})
    ws.on('close', close)
    send = (b) => { if (ws.readyState === WebSocket.OPEN) ws.send(b) }
    end = () => { ws.terminate() }
  }
  const next = async (cmd: string): Promise<AnyPacket> => {
    const deadline = Date.now() + 10_000
    for (;;) {
      const i = packets.findIndex((p) => p.cmd === cmd)
      if (i >= 0) return packets.splice(i, 1)[0]
      if (isClosed) throw new Error(`closed while waiting for ${cmd}`)
      if (Date.now() > deadline) throw new Error(`no ${cmd} within 10 s`)
      await new Promise<void>((resolve) => { const t = setTimeout(resolve, 200); waiters.push(() => { clearTimeout(t); resolve() }) })
    }
  }
  return { send, next, closed, packets, end }
}

const withinTenSeconds = async (p: Promise<void>, what: string): Promise<void> => {
  let timer: NodeJS.Timeout | undefined
  await Promise.race([p, new Promise<void>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`${what}: not closed within 10 s`)), 10_000) })])
  clearTimeout(timer)
}

for (const listener of ['tcp', 'tls', 'ws', 'wss']) {
  for (const version of [5, 4] as const) {
    e2e(`${listener}, MQTT ${version === 5 ? '5' : '3.1.1'}: a 200 MB PUBLISH is refused after its header${version === 5 ? ' with DISCONNECT 0x95' : ''}`, async ({ b, cert }) => {
      const before = b.broker.stats().oversizeRefused
      const link = await openLink(listener, b.ports[listener], cert, version)
      try {
        link.send(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: version, clean: true, keepalive: 30, clientId: `big-${listener}-${version}` } as mqttPacket.Packet, { protocolVersion: version }))
        const connack = await link.next('connack')
        assert.is(connack.reasonCode ?? connack.returnCode, 0)
        // wait until the engine counts the client as connected (the v5 DISCONNECT needs it)
        for (let i = 0; i < 100 && b.broker.stats().clientsConnected === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20))
        // the header and 4 KB of body: the broker answers without waiting for the other 200 MB
        link.send(announce(TWO_HUNDRED_MB, 4096))
        if (version === 5) {
          const disconnect = await link.next('disconnect')
          assert.is(disconnect.reasonCode, REASON.PACKET_TOO_LARGE)
        }
        await withinTenSeconds(link.closed, listener)
        assert.is(link.packets.filter((p) => p.cmd === 'publish').length, 0)
        assert.is(b.broker.stats().oversizeRefused - before, 1, 'refused by the frame guard (not left to the engine)')
      } finally {
        link.end()
      }
    })
  }
  e2e(`${listener}: a 200 MB packet before CONNECT closes the connection with no CONNACK`, async ({ b, cert }) => {
    const before = b.broker.stats().oversizeRefused
    const link = await openLink(listener, b.ports[listener], cert, 5)
    try {
      link.send(announce(TWO_HUNDRED_MB, 1024))
      await withinTenSeconds(link.closed, listener)
      assert.is(link.packets.length, 0)
      assert.is(b.broker.stats().oversizeRefused - before, 1)
    } finally {
      link.end()
    }
  })
}

e2e('a packet at the limit still passes on every listener', async ({ b, cert }) => {
  for (const listener of ['tcp', 'tls', 'ws', 'wss']) {
    const link = await openLink(listener, b.ports[listener], cert, 5)
    try {
      link.send(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clean: true, keepalive: 30, clientId: `fits-${listener}` } as mqttPacket.Packet, { protocolVersion: 5 }))
      await link.next('connack')
      link.send(mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: `fits/${listener}`, qos: 0 }] } as mqttPacket.Packet, { protocolVersion: 5 }))
      await link.next('suback')
      const payload = Buffer.alloc(256 * 1024 - 64, 0x62)
      const publish = mqttPacket.generate({ cmd: 'publish', topic: `fits/${listener}`, payload, qos: 0, retain: false, dup: false } as mqttPacket.Packet, { protocolVersion: 5 })
      assert.ok(publish.length <= 256 * 1024)
      link.send(publish)
      const got = await link.next('publish')
      assert.is(got.payload.length, payload.length)
    } finally {
      link.end()
    }
  }
})

e2e.run()
