// Override: aedes's authorizeForward, as seen by the outbound window.
// What aedes does: calls broker.authorizeForward(client, packet) synchronously
//   inside deliverQoS once its no-local and dedupe checks passed, and sends
//   only when it returns a packet: the one place that knows a QoS 1/2 PUBLISH
//   is really going out.
// What edgemq does instead: the same call, and it notes on the client's shim
//   state whether the delivery went out, so the Receive Maximum window
//   (outbound-flow.ts) counts only what was sent, and a shared-subscription
//   copy records whether it was handed off (shared-member-delivery.ts: a
//   refused hand-off goes to the next member).
// Canary: test/engine/v5-shim-internals.test.ts.
import { markForwardResult } from './shared-member-delivery.ts'
import { SHARED_DELIVERY, SHIM, type ShimmedClient, type V5ShimContext, type AnyPacket } from './v5-shim-context.ts'

/** Wraps broker.authorizeForward to record whether each delivery is sent. */
export function trackForwarded (ctx: V5ShimContext): void {
  const broker = ctx.broker
  const authorizeForward = broker.authorizeForward.bind(broker)
  broker.authorizeForward = (client: ShimmedClient, packet: AnyPacket) => {
    const result = authorizeForward(client, packet)
    if (packet[SHARED_DELIVERY] === true) markForwardResult(packet, result)
    const state = client[SHIM]
    if (state !== undefined) state.forwarded = result !== null && result !== undefined
    return result
  }
}
