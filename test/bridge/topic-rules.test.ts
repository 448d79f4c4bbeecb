import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { checkTopicFilter, findInboundRule, findOutboundRule, matchTopic, toLocalTopic, toRemoteTopic, type TopicRule } from '../../src/bridge/topic-rules.ts'

const rule = (r: Partial<TopicRule>): TopicRule => ({ filter: '#', direction: 'out', qos: 1, localPrefix: '', remotePrefix: '', retain: 'keep', ...r })

test('matchTopic follows the MQTT wildcard rules', () => {
  assert.ok(matchTopic('sensors/#', 'sensors/a/b'))
  assert.ok(matchTopic('sensors/#', 'sensors'), '# matches the parent level [MQTT-4.7.1-2]')
  assert.ok(matchTopic('sensors/+/temp', 'sensors/k1/temp'))
  assert.not.ok(matchTopic('sensors/+/temp', 'sensors/k1/x/temp'))
  assert.not.ok(matchTopic('sensors/+', 'sensors'))
  assert.ok(matchTopic('a/b', 'a/b'))
  assert.not.ok(matchTopic('a/b', 'a/b/c'))
  assert.ok(matchTopic('+/+', '/x'), 'empty levels are levels')
})

test('a leading wildcard never matches a $ topic [MQTT-4.7.2-1]', () => {
  assert.not.ok(matchTopic('#', '$SYS/broker/load'))
  assert.not.ok(matchTopic('+/broker/load', '$SYS/broker/load'))
  assert.ok(matchTopic('$SYS/#', '$SYS/broker/load'))
})

test('checkTopicFilter refuses misplaced wildcards', () => {
  assert.is(checkTopicFilter('a/#'), undefined)
  assert.is(checkTopicFilter('a/+/b'), undefined)
  assert.ok(checkTopicFilter('a/#/b'))
  assert.ok(checkTopicFilter('a#'))
  assert.ok(checkTopicFilter('a/b+'))
  assert.ok(checkTopicFilter(''))
})

test('out rules rewrite the local prefix to the remote prefix (mosquitto topic pattern semantics)', () => {
  const rules = [rule({ filter: 'sensors/#', localPrefix: 'lan/', remotePrefix: 'site17/' })]
  const r = findOutboundRule(rules, 'lan/sensors/t1')
  assert.ok(r)
  assert.is(toRemoteTopic(r!, 'lan/sensors/t1'), 'site17/sensors/t1')
  assert.is(findOutboundRule(rules, 'sensors/t1'), undefined, 'needs the local prefix')
})

test('in rules rewrite the remote prefix to the local prefix, and out-only rules never match inbound', () => {
  const rules = [rule({ filter: 'cmd/#', direction: 'out', remotePrefix: 'site17/' }), rule({ filter: 'cmd/#', direction: 'in', remotePrefix: 'site17/', localPrefix: 'from-cloud/' })]
  const r = findInboundRule(rules, 'site17/cmd/reboot')
  assert.is(r, rules[1])
  assert.is(toLocalTopic(r!, 'site17/cmd/reboot'), 'from-cloud/cmd/reboot')
  assert.is(findInboundRule(rules, 'site18/cmd/reboot'), undefined)
})

test('the first matching rule wins, in config order', () => {
  const rules = [rule({ filter: 'a/b', qos: 0 }), rule({ filter: 'a/#', qos: 2 })]
  assert.is(findOutboundRule(rules, 'a/b')?.qos, 0)
  assert.is(findOutboundRule(rules, 'a/c')?.qos, 2)
})

test.run()
