// A retained message is visible to a SUBSCRIBE sent right after its PUBACK
// (aedes stores retained messages after acknowledging them; the store's
// retained lookup waits for queued writes). Mosquitto behaves this way and
// users rely on it.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { startBrokerInProcess, type InProcessBroker } from '../helpers/broker-process.ts'
import { RawMqtt } from '../helpers/raw-mqtt.ts'

let b: InProcessBroker
test.before(async () => { b = await startBrokerInProcess() })
test.after(async () => { await b.stop() })

test('200 times: PUBACK of a retained QoS 1 message, then SUBSCRIBE on a connected client at once, gets it', async () => {
  const { c: p } = await RawMqtt.connected(b.port, 4)
  const { c: s } = await RawMqtt.connected(b.port, 4)
  let missed = 0 // the first round whose subscriber did not get it
  for (let i = 1; i <= 200; i++) {
    p.send({ cmd: 'publish', topic: `ret/${i}`, payload: `v${i}`, qos: 1, messageId: i, retain: true })
    await p.next('puback')
    s.send({ cmd: 'subscribe', messageId: i, subscriptions: [{ topic: `ret/${i}`, qos: 0 }] })
    await s.next('suback')
    // a retained message that comes at all comes first; 5 s is only a guard for a slow, shared machine
    const got = await s.next('publish', 5000).catch(() => undefined)
    if (got?.topic !== `ret/${i}`) { missed = i; break }
  }
  assert.is(missed, 0, `the subscriber of round ${missed} did not get the retained message`)
  await p.disconnect(); await s.disconnect()
})

test.run()
