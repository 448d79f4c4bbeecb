// Canary of src/engine/disable-counter-dedupe.ts: aedes 2.0.0-beta.1 still
// keeps client.duplicates and drops a delivery whose brokerCounter is not above
// the last one seen from that broker id; with the override every delivery goes out.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { disableCounterDedupe } from '../../src/engine/disable-counter-dedupe.ts'
import { RawMqtt } from '../helpers/raw-mqtt.ts'
import { startPinnedAedes } from './pinned-aedes.ts'

type Deliver = (packet: Record<string, unknown>, cb: () => void) => void

/** Connects one client, delivers counters 5 then 3 from one broker id to it, returns the payloads it got. */
async function deliverOutOfOrder (override: boolean): Promise<{ payloads: string[], duplicates: unknown }> {
  const broker = await startPinnedAedes(override ? { preConnect: (client: object, _p: unknown, done: (e: null, ok: boolean) => void) => { disableCounterDedupe(client); done(null, true) } } : {})
  try {
    const { c } = await RawMqtt.connected(broker.port, 4, { clientId: 'canary' })
    const client = (broker.aedes as unknown as { clients: Record<string, { deliver0: Deliver, duplicates: unknown }> }).clients.canary
    const duplicates = client.duplicates
    for (const [counter, text] of [[5, 'first'], [3, 'overtaken']] as const) {
      await new Promise<void>((resolve) => client.deliver0({ cmd: 'publish', topic: 't', payload: Buffer.from(text), qos: 0, retain: false, dup: false, brokerId: 'other-broker', brokerCounter: counter }, resolve))
    }
    const payloads: string[] = []
    for (;;) {
      try { payloads.push((await c.next('publish', 300)).payload.toString()) } catch { break }
    }
    c.socket.destroy()
    return { payloads, duplicates }
  } finally {
    await broker.close()
  }
}

test('aedes keeps a plain duplicates map per client and drops the overtaken delivery', async () => {
  const r = await deliverOutOfOrder(false)
  assert.equal(r.payloads, ['first'])
  assert.equal(r.duplicates, { 'other-broker': 5 })
})

test('with the override both deliveries go out', async () => {
  const r = await deliverOutOfOrder(true)
  assert.equal(r.payloads, ['first', 'overtaken'])
})

test.run()
