// Canary for src/core/full-gc.ts on the Node in use: V8 hands out its `gc`
// function to a context made while --expose-gc is on, the function collects
// (an object only a WeakRef holds is gone after it), and the broker's global
// scope gets no `gc` from it.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { runInNewContext } from 'node:vm'
import { fullGc } from '../../src/core/full-gc.ts'

test('fullGc runs a collection that clears an unreachable object', async () => {
  let ref: WeakRef<object> | undefined
  ;(() => { ref = new WeakRef({ big: new Array(1000).fill(1) }) })()
  // a WeakRef's target is kept until the end of the current job
  await new Promise((resolve) => setImmediate(resolve))
  assert.is(fullGc(), true, 'this Node gave no gc function')
  assert.is(ref?.deref(), undefined, 'the object survived a full collection')
})

test('the global scope gets no gc and the flag is off again', () => {
  assert.is((globalThis as { gc?: unknown }).gc, undefined)
  assert.is(fullGc(), true)
  assert.is((globalThis as { gc?: unknown }).gc, undefined)
  assert.is(runInNewContext('typeof gc'), 'undefined', 'a context made later still gets gc: --expose-gc was left on')
})

test.run()
