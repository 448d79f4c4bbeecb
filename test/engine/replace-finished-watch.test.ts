// Canary of src/engine/replace-finished-watch.ts on the pinned aedes
// 2.0.0-beta.1: the client keeps stream.finished()'s cleanup as _eos and the
// stream knows its client (conn.client); calling _eos removes finished()'s
// listeners from the stream; with the override, a client whose peer goes
// away (a FIN, a reset) is still closed and unregistered.
import type { Duplex } from 'node:stream'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { replaceFinishedWatch } from '../../src/engine/replace-finished-watch.ts'
import { RawMqtt } from '../helpers/raw-mqtt.ts'
import { startPinnedAedes } from './pinned-aedes.ts'

interface Client { conn: Duplex & { client?: unknown }, _eos: () => void, close: () => void, closed: boolean, id: string | null }

async function startWith (override: boolean): Promise<{ broker: Awaited<ReturnType<typeof startPinnedAedes>>, clients: Client[] }> {
  const broker = await startPinnedAedes()
  const clients: Client[] = []
  const internals = broker.aedes as unknown as { handle: (conn: unknown, req: unknown) => Client }
  const handle = internals.handle
  internals.handle = function (conn, req) {
    const c = handle.call(this, conn, req)
    clients.push(c)
    if (override) replaceFinishedWatch(c)
    return c
  }
  return { broker, clients }
}

const until = async (check: () => boolean, what: string): Promise<void> => {
  for (let i = 0; i < 300 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10))
  assert.ok(check(), what)
}

const counts = (s: Duplex): number[] => ['end', 'finish', 'error', 'close'].map((e) => s.listenerCount(e))

test('aedes: _eos is finished()\'s cleanup (it removes listeners from the stream); conn.client is the client', async () => {
  const { broker, clients } = await startWith(false)
  try {
    const { c } = await RawMqtt.connected(broker.port, 4, { clientId: 'eos' })
    const client = clients[0]
    assert.is(client.conn.client, client)
    assert.type(client._eos, 'function')
    const before = counts(client.conn)
    client._eos()
    const after = counts(client.conn)
    for (let i = 0; i < before.length; i++) assert.ok(after[i] < before[i], `finished() had a listener on ${['end', 'finish', 'error', 'close'][i]}`)
    c.socket.destroy()
  } finally {
    await broker.close()
  }
})

for (const how of ['end', 'reset'] as const) {
  test(`with the override, a client whose peer goes away (${how}) is closed and unregistered`, async () => {
    const { broker, clients } = await startWith(true)
    try {
      const { c } = await RawMqtt.connected(broker.port, 4, { clientId: `gone-${how}` })
      const client = clients[0]
      await until(() => (broker.aedes as unknown as { connectedClients: number }).connectedClients === 1, 'connected')
      if (how === 'end') c.socket.end()
      else c.socket.resetAndDestroy()
      await until(() => client.closed, 'the client is closed')
      await until(() => (broker.aedes as unknown as { connectedClients: number }).connectedClients === 0, 'and unregistered')
    } finally {
      await broker.close()
    }
  })
}

test('with the override, a stream destroyed on the broker side closes its client', async () => {
  const { broker, clients } = await startWith(true)
  try {
    const { c } = await RawMqtt.connected(broker.port, 4, { clientId: 'destroyed' })
    const client = clients[0]
    const gone = new Promise<void>((resolve) => c.socket.once('close', () => { resolve() }))
    client.conn.destroy()
    await until(() => client.closed, 'the client is closed')
    await gone
  } finally {
    await broker.close()
  }
})

test.run()
