// 50 cycles of the kill -9 soak (kill9-soak.ts) in npm test: the built broker
// killed at random points of a mixed QoS 1 / QoS 2 stream with persistent
// subscribers, the offline-queue caps on and a bridge to a real Mosquitto.
// The 1,000-cycle run: node --import tsx test/persistence/kill9-soak.ts --cycles 1000
//
// Known open (issue 11): QoS 2 exactly-once under kill -9 is not yet shown. A
// duplicate QoS 2 delivery to the application was seen once in 1,000 cycles and
// once in a 50-cycle run of the full suite, not on demand. Its assertion runs
// with EDGEMQ_SOAK_STRICT_QOS2=1; in the default suite it is a skipped test that
// says so, and the count is printed, never hidden and never counted as passed.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { requireTool } from '../helpers/broker-process.ts'
import { runSoak } from './kill9-soak.ts'

const STRICT_QOS2 = process.env.EDGEMQ_SOAK_STRICT_QOS2 === '1'
let duplicated: { count: number, context: string } | undefined

test('50 kill -9 cycles: no acknowledged QoS 1 or QoS 2 lost, no session lost, nothing bridged lost', async () => {
  requireTool('mosquitto', 'mosquitto')
  const seed = Number(process.env.EDGEMQ_SOAK_SEED ?? (Date.now() >>> 0))
  const r = await runSoak({ cycles: Number(process.env.EDGEMQ_SOAK_CYCLES ?? 50), seed })
  const context = `seed ${seed}: ${JSON.stringify(r)}`
  assert.ok(r.acknowledged.q1 > 0 && r.acknowledged.q2 > 0 && r.acknowledged.bridged > 0, `nothing acknowledged: ${context}`)
  assert.is(r.lostQos1, 0, context)
  assert.is(r.lostQos2, 0, context)
  assert.is(r.sessionsLost, 0, context)
  assert.is(r.bridgedLost, 0, context)
  duplicated = { count: r.duplicatedQos2, context }
  console.log(`QoS 2 delivered twice to the application in this run: ${r.duplicatedQos2} (seed ${seed})`)
})

if (!STRICT_QOS2) console.log('skipped: QoS 2 exactly-once under kill -9 is a known open bug (issue 11: 1 duplicate in ~1,000 cycles); run with EDGEMQ_SOAK_STRICT_QOS2=1 to assert it')
;(STRICT_QOS2 ? test : test.skip)('and no QoS 2 message delivered twice to the application', () => {
  assert.ok(duplicated !== undefined, 'the soak did not run')
  assert.is(duplicated.count, 0, duplicated.context)
})

test.run()
