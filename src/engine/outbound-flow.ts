// Outbound flow control for MQTT 5 clients: no more than the client's Receive
// Maximum unacknowledged QoS 1/2 PUBLISH packets [MQTT-3.3.4-7]. aedes
// 2.0.0-beta.1 sends every delivery at once. The window itself is plain code
// (src/protocol/outbound-window.ts); these functions keep it in step with what
// aedes sends (limit-deliveries.ts, pace-outgoing-replay.ts), what the client
// acknowledges (guard-parser.ts) and the connection's end.
// Canary: test/engine/v5-shim-internals.test.ts (receiveMaximum, clean,
// _cleanStart, closed; authorizeForward runs synchronously inside deliverQoS).
import { OutboundWindow } from '../protocol/outbound-window.ts'
import { SHIM, noop, type AedesClient, type AnyPacket, type Callback, type ClientShim, type ShimmedClient, type V5ShimContext } from './v5-shim-context.ts'

/** The client's window, created at its Receive Maximum (65,535 when it sent none). */
export function windowOf (ctx: V5ShimContext, client: ShimmedClient, state: ClientShim): OutboundWindow<AnyPacket> {
  state.window ??= new OutboundWindow(client.receiveMaximum ?? 65_535, ctx.flowQueueLimit)
  return state.window
}

/** Sends through aedes's deliverQoS and counts the PUBLISH in the window when aedes really sent it (authorizeForward passed). */
export function sendCounted (state: ClientShim, deliverQoS: AedesClient['deliverQoS'], packet: AnyPacket, cb: Callback): void {
  state.forwarded = false
  deliverQoS(packet, cb)
  if (state.forwarded) state.window?.sent()
  state.forwarded = false
}

/**
 * Takes a slot before a stored message is replayed to a v5 client; a promise
 * only when it must wait for one (undefined: taken, or none needed).
 */
export function replaySlot (ctx: V5ShimContext, client: ShimmedClient, packet: AnyPacket): Promise<void> | undefined {
  const state = client[SHIM]
  if (state === undefined || client.version !== 5 || client.closed) return undefined
  // What aedes will drop instead of sending takes no slot (emptyQueueFilter).
  if (client.clean || client._cleanStart === true) return undefined
  if (packet.cmd === 'publish' && (packet.qos ?? 0) === 0) return undefined
  if (typeof packet.messageExpiry === 'number' && packet.messageExpiry <= Date.now()) return undefined
  const window = windowOf(ctx, client, state)
  if (window.inflight < window.max) { window.sent(); return undefined }
  return waitForSlot(client, state, window)
}

async function waitForSlot (client: ShimmedClient, state: ClientShim, window: OutboundWindow<AnyPacket>): Promise<void> {
  while (window.inflight >= window.max && !client.closed) {
    await new Promise<void>((resolve) => { (state.slotWaiters ??= []).push(resolve) })
  }
  window.sent()
}

/** A PUBACK, PUBCOMP or failed PUBREC ended one flow: frees its slot and sends what waits. */
export function afterAck (state: ClientShim): void {
  const window = state.window
  if (window === undefined) return
  window.acknowledged()
  // A replay waiting for a slot goes before messages held during the session.
  const waiter = state.slotWaiters?.shift()
  if (waiter !== undefined) { waiter(); return }
  for (let next = window.takeNext(); next !== undefined; next = window.takeNext()) {
    // MQTT 5.0 §3.3.2.3.3: a message that expired while held is not sent.
    if (typeof next.messageExpiry === 'number' && next.messageExpiry <= Date.now()) continue
    if (state.deliverQoS !== undefined) sendCounted(state, state.deliverQoS, next, noop)
    if (window.inflight >= window.max) break
  }
}

/** The connection closed: held deliveries are dropped and waiting replays end instead of hanging. */
export function releaseFlow (ctx: V5ShimContext, client: ShimmedClient, state: ClientShim): void {
  const held = state.window?.drain() ?? []
  if (held.length > 0) ctx.log?.debug('held deliveries dropped with the connection', { client: client.id ?? undefined, count: held.length })
  for (const wake of state.slotWaiters?.splice(0) ?? []) wake()
}
