// Canary for src/engine/clean-start-connect.ts: the pinned aedes's CONNECT
// handling is still the code the override was written against, and a plain
// aedes with the override answers every Clean Start CONNECT as it does
// without it (same CONNACK, same events in the same order, wills, refusals,
// a former session's queue dropped), while no longer building the queue's
// stream when the persistence says it holds nothing.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createServer, type Server } from 'node:net'
import type { AddressInfo } from 'node:net'
import { Aedes } from 'aedes'
import { RawMqtt, type AnyPacket } from '../helpers/raw-mqtt.ts'
import { packageDir } from './pinned-aedes.ts'
import { installCleanStartConnect } from '../../src/engine/clean-start-connect.ts'

// The files whose steps the override repeats (sha256 of aedes 2.0.0-beta.1's copies).
const PINNED = {
  'lib/handlers/connect.js': '291fb789e7e0006259748b4e679166bd127aa16bae6af701038c74bd08144557',
  'lib/write.js': '05a99132d11885904667e94b832e97b3c17d135effdd1a8675f8b9e352920b27',
  'lib/qos-packet.js': '2b35fa5bc73ded5b9415dd11b36e97f596e882c0fbbc8dde47a98f86748c2997'
}

type Events = string[]

async function withBroker (install: boolean, options: Record<string, unknown>, fn: (port: number, events: Events, aedes: Aedes) => Promise<void>): Promise<void> {
  const aedes = new Aedes(options as ConstructorParameters<typeof Aedes>[0])
  await aedes.listen()
  const events: Events = []
  aedes.on('client', (c: { id: string }) => { events.push(`client:${c.id}`) })
  aedes.on('connackSent', (p: AnyPacket) => { events.push(`connackSent:${p.returnCode ?? p.reasonCode}`) })
  aedes.on('clientReady', (c: { id: string }) => { events.push(`ready:${c.id}`) })
  aedes.on('publish', (p: AnyPacket) => { if (p.topic.endsWith('/new/clients')) events.push(`sys:${String(p.payload)}`) })
  if (install) installCleanStartConnect(aedes)
  const server: Server = createServer((conn) => { aedes.handle(conn) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  try {
    await fn((server.address() as AddressInfo).port, events, aedes)
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()))
    await new Promise<void>((resolve) => aedes.close(() => resolve()))
  }
}

/** Runs `scenario` on plain aedes and on aedes with the override; returns both results. */
async function both<T> (options: Record<string, unknown>, scenario: (port: number, events: Events, aedes: Aedes) => Promise<T>): Promise<{ plain: T, override: T }> {
  let plain: T | undefined
  let override: T | undefined
  await withBroker(false, options, async (port, events, aedes) => { plain = await scenario(port, events, aedes) })
  await withBroker(true, options, async (port, events, aedes) => { override = await scenario(port, events, aedes) })
  return { plain: plain as T, override: override as T }
}

const settle = async (ms = 50): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

test('canary: aedes\'s connect handler, write and QoSPacket are the files the override was written against', () => {
  const dir = packageDir('aedes')
  for (const [file, sha] of Object.entries(PINNED)) {
    const got = createHash('sha256').update(readFileSync(join(dir, file))).digest('hex')
    assert.is(got, sha, `aedes ${file} changed: re-read it against src/engine/clean-start-connect.ts (the steps, their order, the client fields, the CONNACK) and update the pinned hash`)
  }
})

test('a 3.1.1 and a 3.1 clean CONNECT: the same CONNACK and events, and the connection then works', async () => {
  for (const version of [4, 3] as const) {
    const { plain, override } = await both({}, async (port, events) => {
      const { c, connack } = await RawMqtt.connected(port, version, { clientId: 'cs-a', keepalive: 30 })
      c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'cs/t', qos: 1 }] })
      const suback = await c.next('suback')
      c.send({ cmd: 'publish', topic: 'cs/t', qos: 1, messageId: 2, payload: 'x', retain: false, dup: false })
      const msg = await c.next('publish')
      await c.disconnect()
      await settle()
      return { connack, suback: suback.granted, payload: String(msg.payload), events: events.slice() }
    })
    assert.equal(override, plain)
    assert.is(plain.connack.returnCode, 0)
    assert.equal(plain.events.slice(0, 4), ['client:cs-a', 'sys:cs-a', 'connackSent:0', 'ready:cs-a'])
  }
})

test('a v5 clean CONNECT: the same CONNACK properties (assigned id, clamped expiry, broker limits)', async () => {
  const options = { sessionExpiryIntervalLimit: 60, topicAliasMaximum: 5, receiveMaximum: 7, maximumPacketSize: 4096 }
  const { plain, override } = await both(options, async (port) => {
    const { c, connack } = await RawMqtt.connected(port, 5, { clientId: '', properties: { sessionExpiryInterval: 3600, receiveMaximum: 3 } })
    await c.disconnect()
    const { assignedClientIdentifier, ...rest } = connack.properties ?? {}
    return { sessionPresent: connack.sessionPresent, reasonCode: connack.reasonCode, properties: rest, assigned: typeof assignedClientIdentifier === 'string' && assignedClientIdentifier.startsWith('aedes_') }
  })
  assert.equal(override, plain)
  assert.ok(plain.assigned)
  assert.is(plain.properties.sessionExpiryInterval, 60)
})

test('a will is stored at CONNECT and published when the connection drops', async () => {
  const { plain, override } = await both({}, async (port) => {
    const { c: watcher } = await RawMqtt.connected(port, 4, { clientId: 'cs-watch' })
    watcher.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'cs/will', qos: 0 }] })
    await watcher.next('suback')
    const { c } = await RawMqtt.connected(port, 4, { clientId: 'cs-dev', will: { topic: 'cs/will', payload: Buffer.from('gone'), qos: 0, retain: false } })
    c.destroy()
    const will = await watcher.next('publish')
    await watcher.disconnect()
    return String(will.payload)
  })
  assert.is(plain, 'gone')
  assert.is(override, plain)
})

test('an authenticate refusal: the same CONNACK code (3.1.1 and v5) and the connection closes', async () => {
  const options = {
    authenticate: (_c: unknown, user: string | undefined, _p: unknown, cb: (err: Error | null, ok: boolean) => void) => {
      if (user === 'bad') cb(Object.assign(new Error('no such user'), { returnCode: 4 }), false)
      else cb(null, true)
    }
  }
  const { plain, override } = await both(options, async (port, events) => {
    const out: Array<number | undefined> = []
    for (const version of [4, 5] as const) {
      const c = await RawMqtt.open(port, version)
      c.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: version, clean: true, keepalive: 30, clientId: `cs-refused-${version}`, username: 'bad', password: Buffer.from('x') })
      const connack = await c.next('connack')
      await c.closedByBroker()
      out.push(connack.returnCode ?? connack.reasonCode)
    }
    await settle()
    return { codes: out, events: events.slice() }
  })
  assert.equal(plain.codes, [4, 0x86])
  assert.equal(override, plain)
})

test('a clean start drops the queue a former persistent session left (and the session) [MQTT-3.1.2-4]', async () => {
  const { plain, override } = await both({}, async (port) => {
    const { c: sub } = await RawMqtt.connected(port, 4, { clientId: 'cs-q', clean: false })
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'cs/q', qos: 1 }] })
    await sub.next('suback')
    await sub.disconnect()
    const { c: pub } = await RawMqtt.connected(port, 4, { clientId: 'cs-pub' })
    for (let i = 1; i <= 3; i++) {
      pub.send({ cmd: 'publish', topic: 'cs/q', qos: 1, messageId: i, payload: `m${i}`, retain: false, dup: false })
      await pub.next('puback')
    }
    await pub.disconnect()
    const { c: clean, connack: first } = await RawMqtt.connected(port, 4, { clientId: 'cs-q', clean: true })
    const cleanGotNothing = await clean.nothing('publish', 300)
    await clean.disconnect()
    const { c: again, connack: second } = await RawMqtt.connected(port, 4, { clientId: 'cs-q', clean: false })
    const againGotNothing = await again.nothing('publish', 300)
    await again.disconnect()
    return { first: first.sessionPresent, cleanGotNothing, second: second.sessionPresent, againGotNothing }
  })
  assert.equal(plain, { first: false, cleanGotNothing: true, second: false, againGotNothing: true })
  assert.equal(override, plain)
})

test('with the override a clean CONNECT builds no queue stream when the persistence holds nothing (aedes builds one per CONNECT)', async () => {
  const { plain, override } = await both({}, async (port, _events, aedes) => {
    const persistence = (aedes as unknown as { persistence: Record<string, unknown> }).persistence
    let streams = 0
    const outgoingStream = (persistence.outgoingStream as (c: unknown) => unknown).bind(persistence)
    persistence.outgoingStream = (client: unknown) => { streams++; return outgoingStream(client) }
    persistence.outgoingIsEmpty = () => true
    for (let i = 0; i < 3; i++) {
      const { c } = await RawMqtt.connected(port, 4, { clientId: `cs-s${i}` })
      await c.disconnect()
    }
    return streams
  })
  assert.is(plain, 3)
  assert.is(override, 0)
})

test('a Clean Start 0 CONNECT and a second CONNECT are left to aedes', async () => {
  const { plain, override } = await both({}, async (port) => {
    const { c, connack } = await RawMqtt.connected(port, 4, { clientId: 'cs-p', clean: false })
    c.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 30, clientId: 'cs-p' })
    await c.closedByBroker() // [MQTT-3.1.0-2]
    return connack.returnCode
  })
  assert.is(plain, 0)
  assert.is(override, plain)
})

test.run()
