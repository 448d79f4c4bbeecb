// Canary for src/engine/restore-session-expiry.ts: the pinned aedes still
// leaves a v5 session's expiry to an in-memory timer that a close does not arm
// (if aedes starts to expire sessions across restarts, the extension can go),
// still emits 'clientDisconnect' after removing the client from `clients`,
// with the version, clean flag and Session Expiry Interval the extension
// reads; and the extension ends past-due sessions at once and arms the others.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createServer, type AddressInfo, type Server } from 'node:net'
import { Aedes } from 'aedes'
import { RawMqtt } from '../helpers/raw-mqtt.ts'
import { restoreSessionExpiry } from '../../src/engine/restore-session-expiry.ts'

type AnyAedes = Aedes & { clients: Record<string, unknown>, persistence: { subscriptionsByClient: (c: { id: string }) => Promise<unknown[] | null> } }

async function withAedes (fn: (aedes: AnyAedes, port: number) => Promise<void>): Promise<void> {
  const aedes = new Aedes() as AnyAedes
  await aedes.listen()
  const server: Server = createServer((conn) => { aedes.handle(conn) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  try {
    await fn(aedes, (server.address() as AddressInfo).port)
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()))
    await new Promise<void>((resolve) => aedes.close(() => resolve()))
  }
}

test('plain aedes: clientDisconnect comes after the client left `clients`, with version 5, clean false and the interval', async () => {
  await withAedes(async (aedes, port) => {
    const seen: Array<Record<string, unknown>> = []
    aedes.on('clientDisconnect', (client: any) => { seen.push({ id: client.id, inClients: aedes.clients[client.id] !== undefined, version: client.version, clean: client.clean, sessionExpiryInterval: client.sessionExpiryInterval }) })
    const { c } = await RawMqtt.connected(port, 5, { clientId: 'canary-exp', properties: { sessionExpiryInterval: 30 } })
    await c.disconnect()
    await new Promise((resolve) => setTimeout(resolve, 100))
    assert.equal(seen, [{ id: 'canary-exp', inClients: false, version: 5, clean: false, sessionExpiryInterval: 30 }])
  })
})

test('plain aedes: a close with a connected v5 session (expiry 1 s) neither wipes it nor expires it later', async () => {
  const aedes = new Aedes() as AnyAedes
  await aedes.listen()
  const server: Server = createServer((conn) => { aedes.handle(conn) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { c } = await RawMqtt.connected((server.address() as AddressInfo).port, 5, { clientId: 'canary-close', properties: { sessionExpiryInterval: 1 } })
  c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'cx/t', qos: 1 }] })
  await c.next('suback')
  const serverClosed = new Promise<void>((resolve) => server.close(() => resolve())) // once aedes has closed the client
  await new Promise<void>((resolve) => aedes.close(() => resolve()))
  await serverClosed
  await new Promise((resolve) => setTimeout(resolve, 1500))
  const subs = await aedes.persistence.subscriptionsByClient({ id: 'canary-close' })
  assert.ok(subs !== null && subs.length === 1, 'aedes now ends expiring sessions at close: restore-session-expiry.ts may be unneeded for graceful stops')
  c.destroy()
})

test('restoreSessionExpiry ends past-due and expiry-0 sessions at once, arms the others, and a reconnect cancels the timer', async () => {
  await withAedes(async (aedes, port) => {
    const now = Date.now()
    const ended: string[] = []
    const closed: string[] = []
    const store = {
      hasSession: () => true,
      rememberSession: async () => {},
      sessionClosed: async (id: string) => { closed.push(id) },
      sessionDeadlines: () => [
        { clientId: 'zero', expiry: 0, closedAt: 0 },
        { clientId: 'past', expiry: 1, closedAt: now - 5000 },
        { clientId: 'soon', expiry: 1, closedAt: 0 },
        { clientId: 'back', expiry: 1, closedAt: 0 },
        { clientId: 'later', expiry: 3600, closedAt: now }
      ],
      endSession: async (id: string) => { ended.push(id) }
    }
    const r = await restoreSessionExpiry(aedes, store, (err) => { throw err })
    assert.equal(ended.sort(), ['past', 'zero'])
    assert.is(r.armed, 3)
    assert.equal(closed.sort(), ['back', 'soon'], 'sessions open at a crash: their clock start is stored')
    closed.length = 0
    const { c } = await RawMqtt.connected(port, 5, { clientId: 'back', clean: false, properties: { sessionExpiryInterval: 1 } })
    await new Promise((resolve) => setTimeout(resolve, 1400))
    assert.equal(ended.sort(), ['past', 'soon', 'zero'], 'the session that came back is aedes\'s again')
    await c.disconnect()
    await new Promise((resolve) => setTimeout(resolve, 100))
    assert.equal(closed, ['back'])
    r.stop()
  })
})

test.run()
