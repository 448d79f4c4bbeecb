// The hook runner answers synchronously while every hook does, switches to a
// promise at the first hook that returns one, and stops at the first refusal.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { ALLOW, deny, type Decision } from '../../src/broker-hooks.ts'
import { isPending, runDecisions, type DecisionHook } from '../../src/core/run-decisions.ts'

test('returns ALLOW synchronously when every hook allows synchronously (and when there is none)', () => {
  const calls: number[] = []
  const hooks: Array<DecisionHook<string, number>> = [(_a, b) => { calls.push(b); return ALLOW }, (_a, b) => { calls.push(b + 1); return ALLOW }]
  const d = runDecisions(hooks, 'c', 1)
  assert.not.ok(isPending(d))
  assert.is(d, ALLOW)
  assert.equal(calls, [1, 2])
  assert.is(runDecisions([], 'c', 1), ALLOW)
})

test('stops at the first synchronous refusal and runs no later hook', () => {
  let later = false
  const refusal = deny(0x87, 'not authorized')
  const d = runDecisions<string, number>([() => refusal, () => { later = true; return ALLOW }], 'c', 1)
  assert.is(d, refusal)
  assert.not.ok(later)
})

test('continues asynchronously from the first hook that returns a promise, in order', async () => {
  const order: string[] = []
  const hooks: Array<DecisionHook<string, number>> = [
    () => { order.push('sync'); return ALLOW },
    async () => { await new Promise((resolve) => setTimeout(resolve, 5)); order.push('async'); return ALLOW },
    () => { order.push('after'); return ALLOW }
  ]
  const d = runDecisions(hooks, 'c', 1)
  assert.ok(isPending(d))
  assert.equal(order, ['sync'])
  assert.is(await d, ALLOW)
  assert.equal(order, ['sync', 'async', 'after'])
})

test('a refusal from an asynchronous hook ends the list', async () => {
  let later = false
  const refusal: Decision = deny(0x97, 'quota exceeded')
  const d = runDecisions<string, number>([async () => refusal, () => { later = true; return ALLOW }], 'c', 1)
  assert.is(await d, refusal)
  assert.not.ok(later)
})

test('a hook that throws synchronously throws to the caller; one that rejects rejects the promise', async () => {
  assert.throws(() => runDecisions<string, number>([() => { throw new Error('boom') }], 'c', 1), /boom/)
  try {
    await runDecisions<string, number>([async () => { throw new Error('later boom') }], 'c', 1)
    assert.unreachable('should reject')
  } catch (err) {
    assert.match((err as Error).message, /later boom/)
  }
})

test.run()
