// The default offline queue as a new user meets it (issue 11): a persistent
// subscriber away for three seconds while a publisher sends 3,000 QoS 1
// messages, all acknowledged, gets all 3,000 after it reconnects, in order.
// With the old default (limits.maxQueuedMessages: 1000) it got the newest
// 1,000 and nobody was told. No limits in the config: the shipped defaults.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { connect, connectAsync, type MqttClient } from 'mqtt'
import { startBrokerInProcess, type InProcessBroker } from '../helpers/broker-process.ts'

const COUNT = 3000

test('a persistent subscriber away 3 s gets all 3,000 acknowledged QoS 1 messages with the default limits', async () => {
  let b: InProcessBroker | undefined
  const clients: MqttClient[] = []
  try {
    b = await startBrokerInProcess('listeners:\n  - { name: tcp, type: tcp, host: 127.0.0.1, port: 0 }\n')
    const url = `mqtt://127.0.0.1:${b.port}`
    const opts = { clientId: 'away-sub', clean: false, reconnectPeriod: 0 }
    const sub = await connectAsync(url, opts)
    await sub.subscribeAsync('sensors/#', { qos: 1 })
    await sub.endAsync()
    const away = Date.now()

    const pub = await connectAsync(url, { clientId: 'away-pub', reconnectPeriod: 0 })
    clients.push(pub)
    const acks: Array<Promise<unknown>> = []
    for (let i = 0; i < COUNT; i++) acks.push(pub.publishAsync('sensors/t', `m${i}`, { qos: 1 }))
    await Promise.all(acks) // every one acknowledged
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 3000 - (Date.now() - away))))

    const got: string[] = []
    const back = connect(url, opts)
    clients.push(back)
    back.on('message', (_t, payload) => got.push(payload.toString()))
    const deadline = Date.now() + 60_000
    while (got.length < COUNT && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
    await new Promise((resolve) => setTimeout(resolve, 200)) // a duplicate would arrive right behind
    assert.is(got.length, COUNT, `got ${got.length}; first: ${got[0]}`)
    assert.equal(got, Array.from({ length: COUNT }, (_, i) => `m${i}`))
    assert.is(b.broker.stats().persistenceQueueDropped, 0)
  } finally {
    for (const c of clients) c.end(true)
    await b?.stop()
  }
})

test.run()
