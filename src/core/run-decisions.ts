// Runs a list of hooks that each allow or refuse, synchronously while every
// hook answers with a plain Decision. An `async` runner costs at least one
// promise and one microtask per hook per message even when no hook waits for
// anything; on the publish path that is paid for every PUBLISH (measured in
// the fan-in profiles as promise/microtask overhead around runPublishHooks).
// The first hook that returns a promise switches the rest of the list to the
// asynchronous path, so hooks that do wait (a throttle holding a PUBLISH)
// keep working unchanged.
import { ALLOW, type Decision } from '../broker-hooks.ts'

/** A hook that allows or refuses, now or later. */
export type DecisionHook<A, B> = (a: A, b: B) => Decision | Promise<Decision>

/** Whether a hook's answer is a promise (anything with a then method). */
export function isPending (value: Decision | Promise<Decision>): value is Promise<Decision> {
  return typeof (value as { then?: unknown }).then === 'function'
}

/** The first refusal of `hooks` for (a, b), or ALLOW; a Decision when no hook was asynchronous, else a promise of it. */
export function runDecisions<A, B> (hooks: ReadonlyArray<DecisionHook<A, B>>, a: A, b: B): Decision | Promise<Decision> {
  for (let i = 0; i < hooks.length; i++) {
    const d = hooks[i](a, b)
    if (isPending(d)) return finishAsync(hooks, i + 1, a, b, d)
    if (!d.ok) return d
  }
  return ALLOW
}

async function finishAsync<A, B> (hooks: ReadonlyArray<DecisionHook<A, B>>, from: number, a: A, b: B, pending: Promise<Decision>): Promise<Decision> {
  const first = await pending
  if (!first.ok) return first
  for (let i = from; i < hooks.length; i++) {
    const d = await hooks[i](a, b)
    if (!d.ok) return d
  }
  return ALLOW
}
