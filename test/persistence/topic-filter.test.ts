import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { coveringPrefixes, literalPrefix, topicMatches } from '../../src/persistence/topic-filter.ts'

test('matches MQTT filters', () => {
  assert.ok(topicMatches('a/b', 'a/b'))
  assert.not.ok(topicMatches('a/b', 'a/b/c'))
  assert.ok(topicMatches('a/+', 'a/b'))
  assert.ok(topicMatches('a/+', 'a/'))
  assert.not.ok(topicMatches('a/+', 'a/b/c'))
  assert.ok(topicMatches('a/#', 'a')) // [MQTT-4.7.1-2]
  assert.ok(topicMatches('a/#', 'a/b/c'))
  assert.ok(topicMatches('#', 'a/b'))
  assert.ok(topicMatches('+/+', '/finance'))
  assert.ok(topicMatches('hello/+/world/#', 'hello/there/world/creatures'))
  assert.not.ok(topicMatches('a/b/#', 'a/bc'))
})

test('wildcards at the first level do not match $ topics [MQTT-4.7.2-1]', () => {
  assert.not.ok(topicMatches('#', '$SYS/x'))
  assert.not.ok(topicMatches('+/x', '$SYS/x'))
  assert.ok(topicMatches('$SYS/#', '$SYS/x'))
})

test('takes the literal prefix before the first wildcard', () => {
  assert.is(literalPrefix('a/b/+/c'), 'a/b/')
  assert.is(literalPrefix('a/b/#'), 'a/b')
  assert.is(literalPrefix('a/b'), 'a/b')
  assert.is(literalPrefix('#'), '')
  assert.is(literalPrefix('+/x'), '')
})

test('covers a set of filters with the fewest disjoint prefixes', () => {
  assert.equal(coveringPrefixes(['a/b/+', 'a/#', 'c/d']), ['a', 'c/d'])
  assert.equal(coveringPrefixes(['x/+', '#']), [''])
  assert.equal(coveringPrefixes(['hello/+', 'other/hello']), ['hello/', 'other/hello'])
})

test.run()
