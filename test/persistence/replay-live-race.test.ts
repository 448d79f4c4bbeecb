// A persistent QoS 2 subscriber reconnects while a publisher keeps sending:
// a message published during the reconnect is both in the queue replay (it
// was queued before the replay read the queue) and delivered live (the
// subscription was restored first). It must reach the application once
// [MQTT-4.3.3-9] and the connection must stay up. Before the fix the live copy
// found the replay's copy already acknowledged, outgoingUpdate threw 'no such
// packet' and aedes closed the subscriber (3 of 3 rounds here), or a copy in
// the PUBREL phase was sent again under a new packet id (the QoS 2 duplicate
// of the kill -9 soak, issue 11). Real MQTT.js clients (whose receiver hands a
// QoS 2 message to the application on PUBREL and forgets it after PUBCOMP)
// on the broker's own composition root and a real LevelDB store.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import mqtt, { type MqttClient } from 'mqtt'
import { startBrokerInProcess } from '../helpers/broker-process.ts'

const ROUNDS = 3
const BACKLOG = 200
const BURST = 200

async function publishAll (pub: MqttClient, payloads: string[]): Promise<void> {
  // 20 in flight at a time, as a device with a small window sends
  for (let i = 0; i < payloads.length; i += 20) await Promise.all(payloads.slice(i, i + 20).map((p) => pub.publishAsync('race/x', p, { qos: 2 })))
}

test('a message published while its persistent QoS 2 subscriber reconnects reaches it once, and the subscriber stays connected', async () => {
  const b = await startBrokerInProcess('listeners:\n  - { name: tcp, type: tcp, host: 127.0.0.1, port: 0 }\npersistence: { sync: batch }\n')
  const clients: MqttClient[] = []
  try {
    const pub = await mqtt.connectAsync({ host: '127.0.0.1', port: b.port, clientId: 'race-pub', clean: false, reconnectPeriod: 0 })
    clients.push(pub)
    for (let round = 0; round < ROUNDS; round++) {
      const seen = new Map<string, number>()
      const count = (c: MqttClient): void => { c.on('message', (_t, p) => { const k = p.toString(); seen.set(k, (seen.get(k) ?? 0) + 1) }) }
      const first = await mqtt.connectAsync({ host: '127.0.0.1', port: b.port, clientId: 'race-sub', clean: false, reconnectPeriod: 0 })
      count(first)
      await first.subscribeAsync('race/#', { qos: 2 })
      await first.endAsync()
      const backlog = Array.from({ length: BACKLOG }, (_, i) => `r${round}-queued-${i}`)
      await publishAll(pub, backlog)
      // the subscriber reconnects and the burst starts in the same turn
      const sub = mqtt.connect({ host: '127.0.0.1', port: b.port, clientId: 'race-sub', clean: false, reconnectPeriod: 0 })
      clients.push(sub)
      count(sub)
      let closedByBroker = 0
      sub.on('close', () => { closedByBroker++ })
      sub.on('error', () => {})
      const burst = Array.from({ length: BURST }, (_, i) => `r${round}-live-${i}`)
      await publishAll(pub, burst)
      const all = [...backlog, ...burst]
      const end = Date.now() + 30_000
      while (Date.now() < end && !all.every((k) => seen.has(k))) await new Promise((resolve) => setTimeout(resolve, 50))
      await new Promise((resolve) => setTimeout(resolve, 500)) // a late duplicate would arrive by now
      assert.is(closedByBroker, 0, `round ${round}: the broker closed the subscriber during its reconnect`)
      const missing = all.filter((k) => !seen.has(k))
      assert.equal(missing.slice(0, 5), [], `round ${round}: ${missing.length} acknowledged messages never arrived`)
      const twice = [...seen].filter(([, n]) => n > 1).map(([k]) => k)
      assert.equal(twice.slice(0, 5), [], `round ${round}: ${twice.length} QoS 2 messages reached the application twice`)
      await sub.endAsync()
    }
  } finally {
    for (const c of clients) c.end(true)
    await b.stop()
  }
})

test.run()
