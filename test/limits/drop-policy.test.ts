import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { planQueueDrops } from '../../src/limits/drop-policy.ts'

const q = (...qos: number[]): Array<{ qos: number, bytes: number }> => qos.map((x) => ({ qos: x, bytes: 10 }))

test('nothing dropped while the queue fits', () => {
  assert.equal(planQueueDrops(q(1, 0), { qos: 1, bytes: 10 }, { maxMessages: 3, maxBytes: 0 }).drop, [])
})

test('QoS 0 goes first, oldest QoS 0 first', () => {
  const p = planQueueDrops(q(1, 0, 1, 0), { qos: 1, bytes: 10 }, { maxMessages: 4, maxBytes: 0 })
  assert.equal(p.drop, [1])
  assert.ok(p.acceptIncoming)
  assert.is(p.droppedQos0, 1)
})

test('then the oldest QoS 1/2', () => {
  const p = planQueueDrops(q(2, 1, 1), { qos: 1, bytes: 10 }, { maxMessages: 3, maxBytes: 0 })
  assert.equal(p.drop, [0])
  assert.is(p.droppedQos12, 1)
})

test('an incoming QoS 0 into a queue full of QoS 1 is itself dropped', () => {
  const p = planQueueDrops(q(1, 1), { qos: 0, bytes: 10 }, { maxMessages: 2, maxBytes: 0 })
  assert.equal(p.drop, [])
  assert.not.ok(p.acceptIncoming)
  assert.is(p.droppedQos0, 1)
})

test('bytes cap drops as many as needed', () => {
  const p = planQueueDrops(q(0, 0, 1, 1), { qos: 1, bytes: 25 }, { maxMessages: 0, maxBytes: 40 })
  assert.equal(p.drop, [0, 1, 2])
})

test('a message larger than maxBytes alone is refused and nothing else is dropped', () => {
  const p = planQueueDrops(q(0, 1), { qos: 1, bytes: 100 }, { maxMessages: 0, maxBytes: 50 })
  assert.equal(p.drop, [])
  assert.not.ok(p.acceptIncoming)
})

test.run()
