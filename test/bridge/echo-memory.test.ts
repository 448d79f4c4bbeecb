import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { EchoMemory } from '../../src/bridge/echo-memory.ts'

test('an echo of a sent message is recognised once per send; other messages are not echoes', () => {
  const m = new EchoMemory()
  m.remember('site/chat', Buffer.from('hi'))
  m.remember('site/chat', Buffer.from('hi'))
  assert.not.ok(m.isEcho('site/chat', Buffer.from('hello')))
  assert.not.ok(m.isEcho('site/other', Buffer.from('hi')))
  assert.ok(m.isEcho('site/chat', Buffer.from('hi')))
  assert.ok(m.isEcho('site/chat', Buffer.from('hi')))
  assert.not.ok(m.isEcho('site/chat', Buffer.from('hi')), 'a third identical message is a new message from the cloud')
})

test('the memory is bounded: the oldest entries are forgotten', () => {
  const m = new EchoMemory(3)
  for (let i = 0; i < 5; i++) m.remember('t', Buffer.from(String(i)))
  assert.not.ok(m.isEcho('t', Buffer.from('0')))
  assert.ok(m.isEcho('t', Buffer.from('4')))
})

test.run()
