import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { OutboundTopicAliases } from '../../src/protocol/outbound-topic-aliases.ts'

test('a topic aliases on its second delivery: topic + alias, then the alias alone', () => {
  const t = new OutboundTopicAliases(2)
  assert.equal(t.choose('a'), { topic: 'a' })
  assert.equal(t.choose('a'), { topic: 'a', alias: 1 })
  assert.equal(t.choose('a'), { topic: '', alias: 1 })
})

test('never more aliases than the maximum; a busier topic takes the least used alias (sent with its topic again)', () => {
  const t = new OutboundTopicAliases(1)
  t.choose('a'); t.choose('a') // a -> 1
  assert.equal(t.choose('b'), { topic: 'b' })
  assert.equal(t.choose('b'), { topic: 'b' }) // 2 deliveries, not more than a's
  assert.equal(t.choose('b'), { topic: 'b', alias: 1 }) // 3 > 2: alias 1 moves to b
  assert.equal(t.choose('a'), { topic: 'a' })
  assert.is(t.size, 1)
})

test('maximum 0 or an empty topic: no alias', () => {
  const t = new OutboundTopicAliases(0)
  t.choose('a')
  assert.equal(t.choose('a'), { topic: 'a' })
  assert.equal(new OutboundTopicAliases(3).choose(''), { topic: '' })
})

test('memory stays bounded with many one-off topics', () => {
  const t = new OutboundTopicAliases(4)
  for (let i = 0; i < 100_000; i++) t.choose(`x/${i}`)
  t.choose('hot'); assert.equal(t.choose('hot'), { topic: 'hot', alias: 1 })
  assert.ok((t as unknown as { counts: Map<string, number> }).counts.size <= 256)
})

test.run()
