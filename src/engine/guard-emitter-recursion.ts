// Override: mqemitter's `_do`, which runs one message through the subscribers.
// What mqemitter (7.1.0) does: it drains its queue recursively: a released
//   delivery slot runs the next queued message inside the callback of the last
//   one. Messages whose deliveries finish synchronously (no subscriber, a
//   dropped delivery) then nest one set of stack frames per queued message,
//   and a queue of a few thousand (a flood towards a slow subscriber)
//   overflows the stack and kills the process (seen in the fan-in benchmark).
// What edgemq does instead: past a nesting depth the next message runs on the
//   next turn of the event loop; its slot (`current`) is reserved now so
//   nothing overtakes it.
// Canary: test/engine/guard-emitter-recursion.test.ts (mqemitter still has
//   `_do` and `current`, and a deep synchronous queue no longer overflows).

/** The parts of mqemitter the guard touches. */
interface EmitterInternals {
  _do: (message: unknown, callback: unknown) => unknown
  current: number
}

/** Deepest synchronous nesting of `_do` before the next message waits a turn. */
export const MAX_EMIT_DEPTH = 64

/** Bounds mqemitter's recursive drain; call once on the aedes instance's `mq`. */
export function guardEmitterRecursion (mq: object): void {
  const emitter = mq as EmitterInternals
  if (typeof emitter._do !== 'function' || typeof emitter.current !== 'number') {
    throw new Error('mqemitter internals changed: _do/current missing (see test/engine/guard-emitter-recursion.test.ts)')
  }
  const run = emitter._do.bind(emitter)
  let depth = 0
  emitter._do = function guardedDo (message: unknown, callback: unknown) {
    if (depth >= MAX_EMIT_DEPTH) {
      emitter.current++
      setImmediate(() => {
        emitter.current--
        run(message, callback)
      })
      return emitter
    }
    depth++
    try {
      return run(message, callback)
    } finally {
      depth--
    }
  }
}
