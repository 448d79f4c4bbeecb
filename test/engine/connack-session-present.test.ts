// Canary for src/engine/connack-session-present.ts: the pinned aedes still
// answers a resumed session that has no subscriptions with Session Present 0
// (if it stops, the override can go), still registers the client ('client'
// event) before its CONNACK, and with the override the flag is 1.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createServer, type Server } from 'node:net'
import type { AddressInfo } from 'node:net'
import { Aedes } from 'aedes'
import mqttPacket from 'mqtt-packet'
import { RawMqtt } from '../helpers/raw-mqtt.ts'
import { installConnackSessionPresent } from '../../src/engine/connack-session-present.ts'

async function withBroker (install: boolean, fn: (port: number, events: string[]) => Promise<void>): Promise<void> {
  const aedes = new Aedes()
  await aedes.listen()
  const events: string[] = []
  aedes.on('client', () => { events.push('client') })
  aedes.on('connackSent', (packet: { sessionPresent: boolean }) => { events.push(`connack:${packet.sessionPresent ? 1 : 0}`) })
  const sessions = new Set<string>()
  if (install) {
    installConnackSessionPresent(aedes, mqttPacket, {
      hasSession: (id) => sessions.has(id),
      rememberSession: async (id) => { sessions.add(id) }
    }, (err) => { throw err })
  }
  const server: Server = createServer((conn) => { aedes.handle(conn) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  try {
    await fn((server.address() as AddressInfo).port, events)
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()))
    await new Promise<void>((resolve) => aedes.close(() => resolve()))
  }
}

async function sessionPresentTwice (port: number, clientId: string): Promise<boolean[]> {
  const out: boolean[] = []
  for (let i = 0; i < 2; i++) {
    const { c, connack } = await RawMqtt.connected(port, 4, { clientId, clean: false })
    out.push(connack.sessionPresent as boolean)
    await c.disconnect()
  }
  return out
}

test('plain aedes: a CleanSession 0 session without subscriptions is answered Session Present 0 again; the client registers before its CONNACK', async () => {
  await withBroker(false, async (port, events) => {
    assert.equal(await sessionPresentTwice(port, 'canary-plain'), [false, false], 'aedes now keeps sessions without subscriptions: the override may be unneeded')
    assert.equal(events.slice(0, 2), ['client', 'connack:0'])
  })
})

test('with the override the second CONNACK says Session Present 1, the first still 0, and a clean start 0', async () => {
  await withBroker(true, async (port) => {
    assert.equal(await sessionPresentTwice(port, 'canary-override'), [false, true])
    const { c, connack } = await RawMqtt.connected(port, 4, { clientId: 'canary-override', clean: true })
    assert.is(connack.sessionPresent, false)
    await c.disconnect()
  })
})

test.run()
