import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { UnreleasedQos2 } from '../../src/limits/unreleased-qos2.ts'
import { watchIncomingStore } from '../../src/engine/watch-incoming-store.ts'

test('counts stored QoS 2 per client until released; a repeated id counts once', () => {
  const t = new UnreleasedQos2(() => 0)
  t.stored('a', 1)
  t.stored('a', 1)
  t.stored('a', 2)
  t.stored('b', 1)
  assert.is(t.count('a'), 2)
  t.released('a', 1)
  assert.is(t.count('a'), 1)
  t.released('x', 9)
  assert.is(t.count('x'), 0)
})

test('admitted messages count until they are stored (aedes handles one read\'s packets concurrently)', () => {
  const t = new UnreleasedQos2(() => 0)
  t.admit('a')
  t.admit('a')
  assert.is(t.count('a'), 2)
  t.stored('a', 1)
  assert.is(t.count('a'), 2)
  t.stored('a', 2)
  t.admit('a')
  t.forgetAdmitted('a')
  assert.is(t.count('a'), 2)
})

test('expire returns and forgets the messages older than the expiry, oldest first', () => {
  let now = 0
  const t = new UnreleasedQos2(() => now)
  t.stored('a', 1)
  now = 500
  t.stored('a', 2)
  now = 1200
  assert.equal(t.expire(1000), [{ clientId: 'a', messageId: 1 }])
  assert.is(t.count('a'), 1)
  now = 5000
  assert.equal(t.expire(1000), [{ clientId: 'a', messageId: 2 }])
  assert.is(t.count('a'), 0)
})

test('watchIncomingStore sees the store calls aedes makes, and unwraps cleanly', async () => {
  const calls: string[] = []
  const store = {
    async incomingStorePacket (client: { id: string }, packet: { messageId?: number }) { calls.push(`store ${client.id} ${packet.messageId}`) },
    async incomingDelPacket (client: { id: string }, packet: { messageId?: number }) { calls.push(`del ${client.id} ${packet.messageId}`) }
  }
  const t = new UnreleasedQos2(() => 0)
  const w = watchIncomingStore(store, t)!
  await store.incomingStorePacket({ id: 'a' }, { messageId: 7 })
  assert.is(t.count('a'), 1)
  await store.incomingDelPacket({ id: 'a' }, { messageId: 7 })
  assert.is(t.count('a'), 0)
  await w.drop('a', 8)
  assert.equal(calls, ['store a 7', 'del a 7', 'del a 8'])
  w.unwrap()
  await store.incomingStorePacket({ id: 'a' }, { messageId: 9 })
  assert.is(t.count('a'), 0)
  assert.is(watchIncomingStore({}, t), undefined)
})

test.run()
