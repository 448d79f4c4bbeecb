// Canary of src/engine/use-fifo-emitter-queues.ts: mqemitter 7.1.0 (the one
// aedes creates as broker.mq) queues messages past its concurrency in
// _messageQueue / _messageCallbacks, with push, shift and length only.
import mqemitter from 'mqemitter'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { FifoQueue } from '../../src/core/fifo-queue.ts'
import { useFifoEmitterQueues } from '../../src/engine/use-fifo-emitter-queues.ts'
import { startPinnedAedes } from './pinned-aedes.ts'

test('aedes\'s emitter has both queues as arrays, and the override swaps them', async () => {
  const broker = await startPinnedAedes()
  try {
    const mq = (broker.aedes as unknown as { mq: { _messageQueue: unknown, _messageCallbacks: unknown } }).mq
    assert.ok(Array.isArray(mq._messageQueue))
    assert.ok(Array.isArray(mq._messageCallbacks))
    useFifoEmitterQueues(mq)
    assert.instance(mq._messageQueue, FifoQueue)
    assert.instance(mq._messageCallbacks, FifoQueue)
  } finally {
    await broker.close()
  }
})

test('past its concurrency mqemitter queues through them, in order', async () => {
  const mq = mqemitter({ concurrency: 1 })
  useFifoEmitterQueues(mq)
  const seen: number[] = []
  const held: Array<() => void> = []
  mq.on('t', (msg, cb: () => void) => { seen.push((msg as unknown as { n: number }).n); held.push(cb) })
  const done: number[] = []
  for (let n = 0; n < 5; n++) mq.emit({ topic: 't', n }, () => { done.push(n) })
  const queued = (mq as unknown as { _messageQueue: FifoQueue<unknown> })._messageQueue
  assert.is(queued.length, 4, 'four messages wait in the swapped queue')
  while (held.length > 0) { held.shift()?.(); await new Promise((resolve) => setImmediate(resolve)) }
  assert.equal(seen, [0, 1, 2, 3, 4])
  assert.equal(done, [0, 1, 2, 3, 4])
  await new Promise<void>((resolve) => mq.close(() => resolve()))
})

test.run()
