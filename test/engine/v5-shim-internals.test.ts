// Canary of the MQTT 5 shims (src/engine/install-v5-shims.ts and the overrides
// it installs: guard-parser, limit-deliveries, outbound-flow, track-forwarded,
// pace-outgoing-replay, hide-sys-from-wildcards, keep-session-on-clean-start,
// serve-shared-subscriptions, rewrite-connack, send-disconnect-early,
// flush-before-close, close-malformed, write-packet). Each test checks, on a
// plain pinned aedes 2.0.0-beta.1 without the shims, one internal those
// overrides rely on: that it exists, has the shape they assume, and is used
// by aedes the way their headers say. The behaviour the shims add is tested
// end to end in test/e2e/conformance-v5.test.ts and conformance-aedes-gaps.test.ts.
import { EventEmitter } from 'node:events'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { AedesClient, AedesInternals, AnyPacket } from '../../src/engine/v5-shim-context.ts'
import { RawMqtt } from '../helpers/raw-mqtt.ts'
import { startPinnedAedes, type PinnedAedes } from './pinned-aedes.ts'

/** Starts a plain aedes whose handle() records every client it builds. */
async function startRecording (options: Record<string, unknown> = {}): Promise<{ broker: PinnedAedes, internals: AedesInternals, clients: AedesClient[] }> {
  const broker = await startPinnedAedes(options)
  const internals = broker.aedes as unknown as AedesInternals
  const clients: AedesClient[] = []
  const handle = internals.handle
  internals.handle = function (conn, req) {
    const client = handle.call(this, conn, req)
    clients.push(client)
    return client
  }
  return { broker, internals, clients }
}

const until = async (check: () => boolean, what: string): Promise<void> => {
  for (let i = 0; i < 300 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10))
  assert.ok(check(), what)
}

test('handle() returns the client it builds on the stream, with the members the per-client overrides wrap', async () => {
  const { broker, clients } = await startRecording()
  try {
    const { c } = await RawMqtt.connected(broker.port, 5, { clientId: 'shape', properties: { receiveMaximum: 7, maximumPacketSize: 5000 } })
    assert.is(clients.length, 1)
    const client = clients[0]
    for (const name of ['deliver0', 'deliverQoS'] as const) {
      assert.ok(Object.hasOwn(client, name), `${name} is the client's own property (limit-deliveries replaces it per client)`)
      assert.type(client[name], 'function')
    }
    for (const name of ['rejectPacketTooLarge', 'disconnect', 'close', 'pause', 'subscribe', 'unsubscribe'] as const) assert.type(client[name], 'function', name)
    for (const name of ['rejectPacketTooLarge', 'disconnect'] as const) {
      // send-disconnect-early puts shared functions on the instance that call the prototype's method
      assert.not.ok(Object.hasOwn(client, name), `${name} is not the client's own property`)
      assert.type(Object.getPrototypeOf(client)[name], 'function', `${name} is a method of the client's prototype`)
    }
    // flush-before-close puts a shared destroy on the stream that calls its class's destroy
    assert.not.ok(Object.hasOwn(client.conn, 'destroy'), 'the stream\'s destroy is its class\'s')
    // guard-parser's and count-outgoing-inflight's shared functions find the client from the parser and the stream
    assert.is((client._parser as unknown as { client: unknown }).client, client, 'parser.client')
    assert.is((client.conn as unknown as { client: unknown }).client, client, 'conn.client')
    assert.is(client._rejectingPacketTooLarge, false)
    assert.instance(client._parser, EventEmitter)
    assert.is(client._parser.listenerCount('packet'), 1, 'one packet listener (aedes\'s enqueue), which guard-parser puts behind its checks')
    assert.ok(client._parser.listenerCount('error') >= 1)
    assert.type(client._parsingBatch, 'number')
    assert.type(client._nextBatch, 'function')
    assert.instance(client.broker, EventEmitter)
    // read from CONNECT: what write-packet, outbound-flow and limit-deliveries use
    assert.is(client._wireVersion, 5)
    assert.is(client.receiveMaximum, 7)
    assert.is(client.maximumPacketSize, 5000)
    await until(() => client.connackSent, 'connackSent once the CONNACK is written')
    await until(() => client.connected, 'connected after the CONNACK and the queue replay')
    c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a/#', qos: 1 }] })
    await c.next('suback')
    assert.is((client.subscriptions['a/#'] as { qos: number }).qos, 1, 'subscriptions keyed by filter, with the granted qos')
    c.socket.destroy()
  } finally {
    await broker.close()
  }
})

test('aedes answers a v5 CONNECT with sharedSubscriptionAvailable false, as its first write (rewrite-connack)', async () => {
  const { broker } = await startRecording()
  try {
    const { c, connack } = await RawMqtt.connected(broker.port, 5)
    assert.is(connack.properties?.sharedSubscriptionAvailable, false)
    c.socket.destroy()
  } finally {
    await broker.close()
  }
})

test('authenticate is called with a Clean Start 0 / Session Expiry 0 client already marked clean, before connected (keep-session-on-clean-start)', async () => {
  const { broker, internals } = await startRecording()
  try {
    const seen: Array<{ version: number | null, cleanStart: unknown, clean: boolean, connected: boolean }> = []
    const authenticate = internals.authenticate
    internals.authenticate = (client, username, password, done) => {
      seen.push({ version: client.version, cleanStart: client._cleanStart, clean: client.clean, connected: client.connected })
      authenticate.call(internals, client, username, password, done)
    }
    const { c } = await RawMqtt.connected(broker.port, 5, { clean: false, properties: { sessionExpiryInterval: 0 } })
    assert.equal(seen, [{ version: 5, cleanStart: false, clean: true, connected: false }])
    c.socket.destroy()
  } finally {
    await broker.close()
  }
})

test('authorizeForward runs synchronously inside deliverQoS and decides whether it sends (track-forwarded)', async () => {
  const { broker, internals, clients } = await startRecording()
  try {
    const { c } = await RawMqtt.connected(broker.port, 5, { clientId: 'fwd' })
    const client = clients[0]
    await until(() => client.connected, 'connected')
    const authorizeForward = internals.authorizeForward
    let calls = 0
    let refuse = false
    internals.authorizeForward = (cl, packet) => { calls++; return refuse ? null : authorizeForward.call(internals, cl, packet) }
    const packet = (n: number): AnyPacket => ({ cmd: 'publish', topic: 't', payload: Buffer.from(`m${n}`), qos: 1, retain: false, dup: false, brokerId: 'x', brokerCounter: n })
    client.deliverQoS(packet(1), () => {})
    assert.is(calls, 1, 'called before deliverQoS returned')
    assert.is((await c.next('publish')).payload.toString(), 'm1')
    refuse = true
    client.deliverQoS(packet(2), () => {})
    assert.is(calls, 2)
    assert.ok(await c.nothing('publish', 300), 'a refused forward is not sent')
    c.socket.destroy()
  } finally {
    await broker.close()
  }
})

test('the persistence calls the shims wrap exist and aedes reads the outgoing stream on reconnect (pace-outgoing-replay, hide-sys-from-wildcards)', async () => {
  const { broker, internals } = await startRecording()
  try {
    const p = internals.persistence
    assert.type(p.removeSubscriptions, 'function')
    assert.type(p.createRetainedStreamCombi(['#']).filter, 'function', 'a Readable with .filter')
    let replays = 0
    const outgoingStream = p.outgoingStream.bind(p)
    p.outgoingStream = (client) => { replays++; const s = outgoingStream(client); assert.type(s.map, 'function', 'a Readable with .map'); return s }
    const first = await RawMqtt.connected(broker.port, 5, { clientId: 'back', clean: false, properties: { sessionExpiryInterval: 60 } })
    first.c.socket.destroy()
    await new Promise((resolve) => setTimeout(resolve, 50))
    const again = await RawMqtt.connected(broker.port, 5, { clientId: 'back', clean: false, properties: { sessionExpiryInterval: 60 } })
    await until(() => replays >= 1, 'the stored queue is read on reconnect')
    again.c.socket.destroy()
  } finally {
    await broker.close()
  }
})

test('after a server DISCONNECT aedes ends the connection with conn.destroy() and no error (flush-before-close)', async () => {
  const { broker, clients } = await startRecording()
  try {
    const { c } = await RawMqtt.connected(broker.port, 5)
    const client = clients[0]
    await until(() => client.connected, 'connected')
    const destroyed: unknown[] = []
    const destroy = client.conn.destroy.bind(client.conn)
    client.conn.destroy = (err?: Error) => { destroyed.push(err); return destroy(err) }
    client.disconnect({ reasonCode: 0x8E })
    await c.closedByBroker()
    assert.equal(destroyed, [undefined])
  } finally {
    await broker.close()
  }
})

test('broker.subscribe/unsubscribe take a delivery function, and authorizeSubscribe is a replaceable property (serve-shared-subscriptions)', async () => {
  const { broker, internals } = await startRecording()
  try {
    assert.type(internals.authorizeSubscribe, 'function')
    const got: string[] = []
    const fn = (packet: AnyPacket, cb: () => void): void => { got.push(packet.payload.toString()); cb() }
    await new Promise<void>((resolve) => internals.subscribe('g/+', fn, resolve))
    await new Promise<void>((resolve) => broker.aedes.publish({ cmd: 'publish', topic: 'g/1', payload: Buffer.from('one'), qos: 0, retain: false, dup: false } as never, () => resolve()))
    await new Promise<void>((resolve) => internals.unsubscribe('g/+', fn, resolve))
    await new Promise<void>((resolve) => broker.aedes.publish({ cmd: 'publish', topic: 'g/1', payload: Buffer.from('two'), qos: 0, retain: false, dup: false } as never, () => resolve()))
    await new Promise((resolve) => setTimeout(resolve, 50))
    assert.equal(got, ['one'])
  } finally {
    await broker.close()
  }
})

test.run()
