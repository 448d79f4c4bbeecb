// Override: the reason code of a refused PUBLISH (v5 PUBACK / PUBREC) and of a
// refused SUBSCRIBE filter (v5 SUBACK).
//
// What aedes does (2.0.0-beta.1): lib/handlers/publish.js answers every
// authorizePublish error of a v5 QoS 1/2 PUBLISH with 0x87 (not authorized),
// and lib/handlers/subscribe.js (storeSubscriptions) grants 0x87 to every
// filter authorizeSubscribe refuses; neither lets the hook choose the code.
//
// What that did (issue 14): a retained message over its quota, or a filter
// over the subscription cap, was answered "not authorized" where 0x97 (quota
// exceeded) says what happened [MQTT-3.4.2.1, 3.9.3: 0x97 is a PUBACK and
// SUBACK reason code]; a client told "not authorized" has no reason to retry
// later.
//
// What edgemq does instead: the hooks' reason code is noted when the refusal
// is made (noteRefusedPublish for the packet id on that connection,
// noteRefusedSubscription on aedes's subscription object), and the encoder
// (mqtt-packet's writeToStream, which aedes calls for every packet it writes)
// swaps 0x87 for the noted code when that very acknowledgement is written.
// Nothing else is touched: an ACL refusal stays 0x87, and 3.1.1 has no reason
// codes (its SUBACK says 0x80, and aedes closes a 3.1.1 connection whose
// PUBLISH is refused). Guarded by test/engine/refusal-reason-codes.test.ts.
import { REASON } from '../reason-codes.ts'

const NOT_AUTHORIZED = REASON.NOT_AUTHORIZED

type Packet = Record<string, unknown> & { cmd: string }
type WriteToStream = (packet: unknown, stream: unknown, opts?: { protocolVersion?: number }) => boolean

/** Packet id → reason code of refused PUBLISHes, per connection stream, until their ack is written. */
const refusedPublishes = new WeakMap<object, Map<number, number>>()
/** Reason code of refused subscriptions, on aedes's own subscription objects. */
const refusedSubscriptions = new WeakMap<object, number>()
/** The SUBSCRIBE packets of a connection by packet id, until their SUBACK is written. */
const subscribePackets = new WeakMap<object, Map<number, { subscriptions: object[] }>>()
const INSTALLED = Symbol('edgemq.refusalReasonCodes')

/** Notes the reason code for the ack of a refused PUBLISH (call before the refusal reaches aedes). */
export function noteRefusedPublish (stream: object, messageId: number | undefined, reasonCode: number): void {
  if (messageId === undefined || reasonCode === NOT_AUTHORIZED) return
  let m = refusedPublishes.get(stream)
  if (m === undefined) { m = new Map(); refusedPublishes.set(stream, m) }
  m.set(messageId, reasonCode)
}

/** Notes the reason code of a refused subscription (aedes's subscription object, as given to authorizeSubscribe). */
export function noteRefusedSubscription (sub: object, reasonCode: number): void {
  if (reasonCode !== NOT_AUTHORIZED) refusedSubscriptions.set(sub, reasonCode)
}

/** The reason code noted for a refused subscription object, if any (shared subscriptions write their own SUBACK). */
export function refusalCodeOf (sub: object): number | undefined {
  return refusedSubscriptions.get(sub)
}

/** Remembers a connection's SUBSCRIBE packets so their SUBACK can be matched to the subscriptions (call on each parsed packet). */
export function watchSubscribe (stream: object, packet: Packet): void {
  if (packet.cmd !== 'subscribe' || typeof packet.messageId !== 'number') return
  let m = subscribePackets.get(stream)
  if (m === undefined) { m = new Map(); subscribePackets.set(stream, m) }
  // The packet itself, not its list: aedes replaces packet.subscriptions with a deduplicated copy.
  m.set(packet.messageId, packet as unknown as { subscriptions: object[] })
}

/** Wraps mqtt-packet's writeToStream once, so v5 acks of noted refusals carry their own reason code. */
export function installRefusalReasonCodes (mqttPacket: { writeToStream: WriteToStream }): void {
  const current = mqttPacket.writeToStream as WriteToStream & { [INSTALLED]?: true }
  if (current[INSTALLED] === true) return
  const wrapped = function writeToStream (packet: unknown, stream: unknown, opts?: { protocolVersion?: number }): boolean {
    if (typeof stream === 'object' && stream !== null && typeof packet === 'object' && packet !== null) rewrite(packet as Packet, stream, opts?.protocolVersion)
    return current(packet, stream, opts)
  }
  Object.defineProperty(wrapped, INSTALLED, { value: true })
  Object.setPrototypeOf(wrapped, current) // keeps what hangs off the original (cacheNumbers, the encoder's mark)
  mqttPacket.writeToStream = wrapped
}

function rewrite (packet: Packet, stream: object, version: number | undefined): void {
  const cmd = packet.cmd
  if (cmd === 'suback') {
    const packets = subscribePackets.get(stream)
    const subscribe = packets?.get(packet.messageId as number)
    if (subscribe === undefined) return
    packets!.delete(packet.messageId as number)
    const granted = packet.granted as number[] | undefined
    if (version !== 5 || !Array.isArray(granted)) return
    for (let i = 0; i < granted.length; i++) {
      const sub = subscribe.subscriptions[i]
      const code = sub === undefined ? undefined : refusedSubscriptions.get(sub)
      if (granted[i] === NOT_AUTHORIZED && code !== undefined) granted[i] = code
    }
    return
  }
  if (cmd !== 'puback' && cmd !== 'pubrec') return
  const pending = refusedPublishes.get(stream)
  if (pending === undefined) return
  const code = pending.get(packet.messageId as number)
  if (code === undefined) return
  pending.delete(packet.messageId as number)
  if (version === 5 && packet.reasonCode === NOT_AUTHORIZED) packet.reasonCode = code
}

/** Watches an aedes client's parsed packets for SUBSCRIBEs (aedes 2.0.0-beta.1: `client._parser` emits 'packet' and knows its client as `parser.client`). */
export function watchClientSubscribes (client: unknown): void {
  const c = client as { conn?: object, _parser?: { client?: unknown, prependListener: (event: 'packet', fn: (this: ParserOfClient, packet: Packet) => void) => void } }
  const parser = c._parser
  if (c.conn === undefined || parser === undefined || parser.client !== client || typeof parser.prependListener !== 'function') return
  parser.prependListener('packet', watchParsedSubscribe)
}

type ParserOfClient = { client: { conn: object } }

/** One listener for every client (no closure per connection): the parser's client names the stream. */
function watchParsedSubscribe (this: ParserOfClient, packet: Packet): void {
  watchSubscribe(this.client.conn, packet)
}
