// The outbound send window: at most Receive Maximum QoS 1/2 PUBLISH in flight [MQTT-3.3.4-7].
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { OutboundWindow } from '../../src/protocol/outbound-window.ts'

test('has room until max messages are in flight', () => {
  const w = new OutboundWindow<number>(2, 10)
  assert.ok(w.hasRoom()); w.sent()
  assert.ok(w.hasRoom()); w.sent()
  assert.not.ok(w.hasRoom())
  assert.is(w.inflight, 2)
})

test('holds messages in order and releases one per acknowledgement', () => {
  const w = new OutboundWindow<number>(1, 10)
  w.sent()
  w.hold(1); w.hold(2)
  assert.not.ok(w.hasRoom()) // queued messages go first, even with a free slot
  assert.is(w.takeNext(), undefined)
  w.acknowledged()
  assert.is(w.takeNext(), 1)
  w.sent()
  assert.is(w.takeNext(), undefined)
  w.acknowledged()
  assert.is(w.takeNext(), 2)
  assert.is(w.queued, 0)
})

test('drops past the queue limit and counts the drops', () => {
  const w = new OutboundWindow<number>(1, 2)
  w.sent()
  assert.ok(w.hold(1)); assert.ok(w.hold(2))
  assert.not.ok(w.hold(3))
  assert.is(w.dropped, 1)
  assert.equal(w.drain(), [1, 2])
})

test('an acknowledgement with nothing in flight does not go negative', () => {
  const w = new OutboundWindow<number>(1, 2)
  w.acknowledged()
  assert.is(w.inflight, 0)
  w.sent()
  assert.not.ok(w.hasRoom())
})

test.run()
