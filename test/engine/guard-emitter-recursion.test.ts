// Canary of src/engine/guard-emitter-recursion.ts: mqemitter 7.1.0 still runs
// each message through `_do` and counts slots in `current`, and still drains
// its queue recursively (the guard is what keeps a deep queue off the stack).
import mqemitter from 'mqemitter'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { guardEmitterRecursion } from '../../src/engine/guard-emitter-recursion.ts'
import { useFifoEmitterQueues } from '../../src/engine/use-fifo-emitter-queues.ts'

/** Queues `count` messages behind one held slot, releases it, and resolves when all are done (or with the error thrown). */
async function drainDeepQueue (guarded: boolean, count: number): Promise<{ delivered: number, error?: string }> {
  const mq = mqemitter({ concurrency: 1 })
  useFifoEmitterQueues(mq) // as in the broker: Array#shift over 100k entries would take minutes
  if (guarded) guardEmitterRecursion(mq)
  let release: (() => void) | undefined
  let delivered = 0
  mq.on('slow', (_msg: unknown, cb: () => void) => { release = cb })
  mq.on('fast', (_msg: unknown, cb: () => void) => { delivered++; cb() })
  mq.emit({ topic: 'slow' })
  for (let i = 0; i < count; i++) mq.emit({ topic: 'fast' })
  try {
    release?.()
  } catch (err) {
    return { delivered, error: (err as Error).message }
  }
  const deadline = Date.now() + 20_000
  while (delivered < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5))
  return { delivered }
}

test('mqemitter has _do and current', () => {
  const mq = mqemitter() as unknown as { _do: unknown, current: unknown }
  assert.type(mq._do, 'function')
  assert.type(mq.current, 'number')
})

test('unguarded, a deep queue of synchronous deliveries still overflows the stack (the guard is still needed)', async () => {
  const r = await drainDeepQueue(false, 100_000)
  assert.match(r.error ?? '', /call stack/i)
})

test('guarded, the same queue drains completely', async () => {
  const r = await drainDeepQueue(true, 100_000)
  assert.is(r.error, undefined)
  assert.is(r.delivered, 100_000)
})

test.run()
