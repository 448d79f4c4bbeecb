import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { filterCovers, filterMatches, filtersOverlap, splitLevels as s, stripShare } from '../../src/acl/topic-match.ts'

test('filterMatches follows MQTT-4.7: + one level, # the rest and the parent, $ topics not by wildcards', () => {
  const yes: Array<[string, string]> = [['a/b', 'a/b'], ['a/+', 'a/b'], ['a/#', 'a'], ['a/#', 'a/b/c'], ['#', 'a'], ['+/+', 'a/b'], ['+', ''], ['a//b', 'a//b'], ['$SYS/#', '$SYS/x'], ['$SYS/+', '$SYS/x']]
  const no: Array<[string, string]> = [['a/+', 'a'], ['a/+', 'a/b/c'], ['a/b', 'a'], ['#', '$SYS/x'], ['+/#', '$SYS/x'], ['+/x', '$SYS/x'], ['a', 'A'], ['a/#', 'ab']]
  for (const [f, t] of yes) assert.ok(filterMatches(s(f), s(t)), `${f} ~ ${t}`)
  for (const [f, t] of no) assert.not.ok(filterMatches(s(f), s(t)), `${f} !~ ${t}`)
})

test('filtersOverlap: some topic matches both', () => {
  const yes: Array<[string, string]> = [['#', 'site/a/#'], ['+/#', 'site/a/#'], ['site/+/x', 'site/a/#'], ['site/a', 'site/a/#'], ['a/+/c', 'a/b/+'], ['$SYS/#', '$SYS/broker/+']]
  const no: Array<[string, string]> = [['#', '$SYS/#'], ['+/broker', '$SYS/broker'], ['site/b/#', 'site/a/#'], ['a/b', 'a/b/c'], ['a/+', 'a'], ['x/#', 'y']]
  for (const [a, b] of yes) { assert.ok(filtersOverlap(s(a), s(b)), `${a} ∩ ${b}`); assert.ok(filtersOverlap(s(b), s(a)), `${b} ∩ ${a}`) }
  for (const [a, b] of no) { assert.not.ok(filtersOverlap(s(a), s(b)), `${a} ∩ ${b}`); assert.not.ok(filtersOverlap(s(b), s(a)), `${b} ∩ ${a}`) }
})

test('filterCovers: every topic of the inner filter is in the outer one', () => {
  const yes: Array<[string, string]> = [['#', 'a/b'], ['a/#', 'a'], ['a/#', 'a/+/c'], ['a/+', 'a/b'], ['a/+', 'a/+'], ['#', '+/#'], ['$SYS/#', '$SYS/+']]
  const no: Array<[string, string]> = [['a/+', 'a/#'], ['a/b', 'a/+'], ['#', '$SYS/x'], ['+/#', '$SYS/#'], ['a/+/c', 'a/+'], ['a', 'a/#']]
  for (const [o, i] of yes) assert.ok(filterCovers(s(o), s(i)), `${o} ⊇ ${i}`)
  for (const [o, i] of no) assert.not.ok(filterCovers(s(o), s(i)), `${o} ⊉ ${i}`)
})

test('stripShare removes $share/<group>/ only', () => {
  assert.is(stripShare('$share/g/site/#'), 'site/#')
  assert.is(stripShare('$share/g/#'), '#')
  assert.is(stripShare('$SYS/#'), '$SYS/#')
  assert.is(stripShare('site/$share/x'), 'site/$share/x')
})

test.run()
