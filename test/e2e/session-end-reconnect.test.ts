// [MQTT-3.1.2-11] [MQTT-4.1.0-2] A v5 session with Session Expiry 0 ends when
// its connection closes; a Clean Start 0 reconnect right after finds no
// session (Session Present 0) and must get nothing of the ended one. Found by
// the model-based test (seed -1277215512): an unacknowledged QoS 1 message of
// the ended session was delivered on the next connection while aedes was
// still clearing the old queue (it did in about 1 of 3 immediate reconnects).
// The built bundle, raw packets, persistence.sync always.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { startBrokerProcess, type BrokerProcessHandle } from '../helpers/broker-process.ts'
import { RawMqtt } from '../helpers/raw-mqtt.ts'

let b: BrokerProcessHandle | undefined
test.after(async () => { await b?.stop() })

test('40 immediate Clean Start 0 reconnects after a Session Expiry 0 session ended with an unacknowledged message: Session Present 0 and nothing of the old session', async () => {
  b = await startBrokerProcess({ bundle: true, config: 'persistence: { sync: always }\nlisteners: [ { name: tcp, type: tcp, host: 127.0.0.1, port: 0 } ]\n' })
  const wrong: string[] = []
  for (let round = 0; round < 40; round++) {
    const id = `ended-${round}`
    const topic = `ended/${round}`
    const { c: a } = await RawMqtt.connected(b.port, 5, { clientId: id, clean: false, properties: { sessionExpiryInterval: 0 } })
    a.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 2 }] })
    await a.next('suback')
    // a second, persistent subscriber, so the message is stored (the model's shrunk sequence)
    const { c: other } = await RawMqtt.connected(b.port, 4, { clientId: `${id}-other`, clean: false })
    other.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 0 }] })
    await other.next('suback')
    other.send({ cmd: 'disconnect' }); other.destroy()
    const { c: p } = await RawMqtt.connected(b.port, 4, { clientId: `${id}-pub` })
    p.send({ cmd: 'publish', topic, payload: 'x', qos: 1, messageId: 1 })
    await p.next('puback')
    await a.next('publish') // not acknowledged
    if (round % 2 === 0) a.send({ cmd: 'disconnect', reasonCode: 0 })
    a.destroy()
    const { c: again, connack } = await RawMqtt.connected(b.port, 5, { clientId: id, clean: false, properties: { sessionExpiryInterval: 0 } })
    const got = await again.next('publish', 400).then(() => true, () => false)
    if (connack.sessionPresent === true || got) wrong.push(`round ${round}: Session Present ${String(connack.sessionPresent)}, old message delivered ${String(got)}`)
    again.destroy(); p.destroy()
  }
  assert.equal(wrong, [])
})

test.run()
