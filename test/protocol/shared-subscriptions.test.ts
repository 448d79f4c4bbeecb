// Shared subscription parsing and the round-robin registry [MQTT-4.8.2].
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { isSharedFilter, parseSharedFilter, SharedSubscriptions } from '../../src/protocol/shared-subscriptions.ts'

test('parses $share/<group>/<filter> into group and filter [MQTT-4.8.2-2]', () => {
  assert.equal(parseSharedFilter('$share/g1/sensors/+/temp'), { group: 'g1', filter: 'sensors/+/temp' })
  assert.equal(parseSharedFilter('$share/g/#'), { group: 'g', filter: '#' })
  assert.ok(isSharedFilter('$share/g/a'))
  assert.not.ok(isSharedFilter('share/g/a'))
})

test('refuses an empty group, a wildcard group and a missing filter [MQTT-4.8.2-1]', () => {
  assert.type(parseSharedFilter('$share//a'), 'string')
  assert.type(parseSharedFilter('$share/g+/a'), 'string')
  assert.type(parseSharedFilter('$share/#/a'), 'string')
  assert.type(parseSharedFilter('$share/g'), 'string')
  assert.type(parseSharedFilter('$share/g/'), 'string')
})

test('picks members in turn and skips unusable ones', () => {
  const reg = new SharedSubscriptions<string>()
  const s = { group: 'g', filter: 't' }
  assert.ok(reg.add(s, { client: 'a', qos: 1, rap: false }))
  assert.not.ok(reg.add(s, { client: 'b', qos: 1, rap: false }))
  reg.add(s, { client: 'c', qos: 1, rap: false })
  assert.equal([1, 2, 3, 4].map(() => reg.pick(s)?.client), ['a', 'b', 'c', 'a'])
  assert.equal(reg.pick(s, (m) => m.client !== 'b')?.client, 'c')
  assert.is(reg.pick(s, () => false), undefined)
})

test('re-adding a member replaces it instead of doubling its share', () => {
  const reg = new SharedSubscriptions<string>()
  const s = { group: 'g', filter: 't' }
  reg.add(s, { client: 'a', qos: 0, rap: false })
  reg.add(s, { client: 'a', qos: 2, rap: true })
  assert.is(reg.pick(s)?.qos, 2)
  assert.is(reg.pick(s)?.client, 'a')
})

test('removing the last member reports the group empty; groups are per (group, filter)', () => {
  const reg = new SharedSubscriptions<string>()
  const s1 = { group: 'g', filter: 't' }
  const s2 = { group: 'g', filter: 'u' }
  reg.add(s1, { client: 'a', qos: 0, rap: false })
  reg.add(s1, { client: 'b', qos: 0, rap: false })
  reg.add(s2, { client: 'a', qos: 0, rap: false })
  assert.is(reg.size, 2)
  assert.equal(reg.membershipsOf('a'), [s1, s2])
  assert.is(reg.remove(s1, 'a'), 'removed')
  assert.is(reg.remove(s1, 'a'), 'absent')
  assert.is(reg.remove(s1, 'b'), 'group-empty')
  assert.is(reg.pick(s1), undefined)
  assert.is(reg.size, 1)
})

test.run()
