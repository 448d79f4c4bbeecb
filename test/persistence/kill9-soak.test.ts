// 50 cycles of the kill -9 soak (kill9-soak.ts) in npm test: the built broker
// killed at random points of a mixed QoS 1 / QoS 2 stream with persistent
// subscribers, the offline-queue caps on and a bridge to a real Mosquitto.
// The 1,000-cycle run: node --import tsx test/persistence/kill9-soak.ts --cycles 1000
// EDGEMQ_SOAK_SEED fixes the seed of the kill points (printed on failure);
// EDGEMQ_SOAK_CYCLES changes the count.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { requireTool } from '../helpers/broker-process.ts'
import { runSoak } from './kill9-soak.ts'

test('50 kill -9 cycles: no acknowledged QoS 1 or QoS 2 lost, no QoS 2 delivered twice, no session lost, nothing bridged lost', async () => {
  requireTool('mosquitto', 'mosquitto')
  const seed = Number(process.env.EDGEMQ_SOAK_SEED ?? (Date.now() >>> 0))
  const r = await runSoak({ cycles: Number(process.env.EDGEMQ_SOAK_CYCLES ?? 50), seed })
  const context = `seed ${seed}: ${JSON.stringify(r)}`
  assert.ok(r.acknowledged.q1 > 0 && r.acknowledged.q2 > 0 && r.acknowledged.bridged > 0, `nothing acknowledged: ${context}`)
  assert.is(r.lostQos1, 0, context)
  assert.is(r.lostQos2, 0, context)
  // exactly once to the application [MQTT-4.3.3-9]: MQTT.js hands a QoS 2
  // message over on PUBREL and keeps its receive state across reconnects
  assert.is(r.duplicatedQos2, 0, context)
  assert.is(r.sessionsLost, 0, context)
  assert.is(r.upstreamDied, false, `the upstream Mosquitto exited during the soak (killed from outside?): ${context}`)
  assert.is(r.bridgedLost, 0, context)
})

test.run()
