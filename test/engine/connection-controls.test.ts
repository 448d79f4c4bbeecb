// Canary of src/engine/connection-controls.ts: an aedes 2.0.0-beta.1 client
// still has version, connected, disconnect({ reasonCode, properties }, cb) and
// close(), so a part's close(reasonCode, reason) reaches a v5 client as a
// DISCONNECT with that reason code and reason string before the close.
import { Duplex } from 'node:stream'
import type { Socket } from 'node:net'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { connectionControls } from '../../src/engine/connection-controls.ts'
import { REASON } from '../../src/reason-codes.ts'
import { RawMqtt } from '../helpers/raw-mqtt.ts'
import { startPinnedAedes } from './pinned-aedes.ts'

for (const version of [5, 4] as const) {
  test(`close() on a v${version} client: ${version === 5 ? 'DISCONNECT with the reason, then' : 'a plain'} close`, async () => {
    const broker = await startPinnedAedes()
    try {
      const { c } = await RawMqtt.connected(broker.port, version, { clientId: 'ctl' })
      const client = (broker.aedes as unknown as { clients: Record<string, { conn: Socket }> }).clients.ctl
      const controls = connectionControls(client, { stream: client.conn as unknown as Duplex, socket: client.conn })
      assert.ok(controls.bytesRead() > 0)
      // aedes sets `connected` only after the CONNACK and its queue replay
      // (the v5 shim sends a DISCONNECT in that gap; not this canary's subject)
      const c2 = client as unknown as { connected: boolean, version: number }
      for (let i = 0; i < 200 && !c2.connected; i++) await new Promise((resolve) => setTimeout(resolve, 10))
      assert.is(c2.connected, true)
      assert.is(c2.version, version)
      controls.close(REASON.QUOTA_EXCEEDED, 'canary')
      if (version === 5) {
        const d = await c.next('disconnect')
        assert.is(d.reasonCode, REASON.QUOTA_EXCEEDED)
        assert.is(d.properties?.reasonString, 'canary')
      }
      await c.closedByBroker()
    } finally {
      await broker.close()
    }
  })
}

test.run()
