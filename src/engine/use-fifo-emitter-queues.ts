// Override: the two arrays mqemitter queues waiting messages in.
// What mqemitter (7.1.0, under aedes 2.0.0-beta.1) does: past `concurrency`
//   messages in flight it pushes each new message and its callback onto
//   `_messageQueue` / `_messageCallbacks` (plain arrays) and takes them off
//   with Array#shift, which is O(n): a flood of a few thousand queued
//   messages spends its time moving array elements.
// What edgemq does instead: swaps both for src/core/fifo-queue.ts (same push,
//   shift and length; O(1) shift).
// Canary: test/engine/use-fifo-emitter-queues.test.ts (mqemitter still has
//   both fields, as arrays, and queues through them past its concurrency).
import { FifoQueue } from '../core/fifo-queue.ts'

/** Gives an mqemitter O(1) queues; call once, before the first publish. */
export function useFifoEmitterQueues (mq: object): void {
  const emitter = mq as { _messageQueue: unknown, _messageCallbacks: unknown }
  if (!Array.isArray(emitter._messageQueue) || !Array.isArray(emitter._messageCallbacks)) {
    throw new Error('mqemitter internals changed: _messageQueue/_messageCallbacks are not arrays (see test/engine/use-fifo-emitter-queues.test.ts)')
  }
  emitter._messageQueue = new FifoQueue()
  emitter._messageCallbacks = new FifoQueue()
}
