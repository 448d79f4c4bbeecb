// Runs the connect and subscribe hook lists in order; the first refusal wins.
// Synchronous while every hook answers with a plain Decision, as the publish
// hooks are (src/core/run-decisions.ts): an `async` runner cost a promise and
// a microtask per hook per CONNECT and per SUBSCRIBE filter even for an
// anonymous client whose hooks all answer at once (connect-storm profiles,
// docs/performance.md). The first hook that returns a promise (a password
// check) switches the rest of the list to the asynchronous path.
import { ALLOW, type BrokerHooks, type ClientInfo, type ConnectRequest, type Decision } from '../broker-hooks.ts'
import { isPending, runDecisions } from './run-decisions.ts'

/** The first refusal of the connect hooks, or ALLOW; a promise only when a hook returned one. */
export function runConnectHooks (hooks: BrokerHooks, req: ConnectRequest): Decision | Promise<Decision> {
  return runDecisions(hooks.connect, req, undefined)
}

/** The first refusal of the subscribe hooks for one filter, or ALLOW; a promise only when a hook returned one. */
export function runSubscribeHooks (hooks: BrokerHooks, client: ClientInfo, filter: string, qos: number): Decision | Promise<Decision> {
  const list = hooks.subscribe
  for (let i = 0; i < list.length; i++) {
    const d = list[i](client, filter, qos)
    if (isPending(d)) return finishSubscribeHooks(list, i + 1, client, filter, qos, d)
    if (!d.ok) return d
  }
  return ALLOW
}

async function finishSubscribeHooks (list: BrokerHooks['subscribe'], from: number, client: ClientInfo, filter: string, qos: number, pending: Promise<Decision>): Promise<Decision> {
  const first = await pending
  if (!first.ok) return first
  for (let i = from; i < list.length; i++) {
    const d = await list[i](client, filter, qos)
    if (!d.ok) return d
  }
  return ALLOW
}
