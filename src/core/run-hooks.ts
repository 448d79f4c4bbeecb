// Runs the connect and subscribe hook lists in order; the first refusal wins.
// (The publish hooks run through src/core/run-decisions.ts, which stays
// synchronous while every hook is: that path is paid per message.)
import { ALLOW, type BrokerHooks, type ClientInfo, type ConnectRequest, type Decision } from '../broker-hooks.ts'

/** The first refusal of the connect hooks, or ALLOW. */
export async function runConnectHooks (hooks: BrokerHooks, req: ConnectRequest): Promise<Decision> {
  for (const h of hooks.connect) {
    const d = await h(req)
    if (!d.ok) return d
  }
  return ALLOW
}

/** The first refusal of the subscribe hooks for one filter, or ALLOW. */
export async function runSubscribeHooks (hooks: BrokerHooks, client: ClientInfo, filter: string, qos: number): Promise<Decision> {
  for (const h of hooks.subscribe) {
    const d = await h(client, filter, qos)
    if (!d.ok) return d
  }
  return ALLOW
}
