// Override: counts the QoS 1/2 messages the broker has sent and not yet had
// acknowledged, over all connections (edgemq_inflight_messages, issue 12).
// What aedes 2.0.0-beta.1 does: it keeps no such figure. A clean session's
//   outgoing QoS 1/2 flows are not recorded anywhere (the PUBACK is passed to
//   persistence.outgoingClearMessageId, which finds nothing); a persistent
//   session's are in the store's index (src/persistence/outgoing-store.ts).
// What edgemq does instead: it watches the packets written (watch-written-
//   packets.ts) and the acknowledgements parsed (intercept-parsed-packets.ts)
//   of each connection: a written QoS 1/2 PUBLISH (or a PUBREL resent after a
//   reconnect) opens the flow of its packet id; PUBACK, PUBCOMP, or a PUBREC
//   with a reason code >= 0x80 (MQTT 5.0 §4.3.3: the flow ends) closes it.
//   A resend (DUP=1) under the same id is one flow. The connection's close
//   ends its flows: what stays queued for a persistent session is counted by
//   the offline queue gauge instead. O(1) per packet: one Set per connection,
//   made at its first QoS 1/2 write (an idle or QoS 0 connection has none: a
//   Set, a state object and a close listener per connection were ~0.4 KiB of
//   each idle connection); no allocation per message.
// Canary: test/engine/count-outgoing-inflight.test.ts (aedes writes through
//   mqtt-packet's writeToStream, parses into client._parser, hands the
//   connection's stream as client.conn, and the stream knows its client as
//   conn.client).
import type { EventEmitter } from 'node:events'
import { isFailureCode } from '../reason-codes.ts'
import { addPacketFilter } from './intercept-parsed-packets.ts'
import { watchWrittenPackets } from './watch-written-packets.ts'

type AnyPacket = Record<string, any> & { cmd: string }

/** The broker-wide figure; read at scrape time. */
export interface InflightCounter {
  /** Outgoing QoS 1/2 flows open now, over all connections. */
  count: number
}

interface Flows {
  ids: Set<number>
  counter: InflightCounter
}

/** Open flows per connection stream (the key aedes writes to); made at the first QoS 1/2 write. */
const flowsOf = new WeakMap<object, Flows>()
/** The broker-wide figure, on the aedes instance (a stream finds it through conn.client.broker). */
const COUNTER = Symbol('edgemq.inflightCounter')

/** A connection stream as aedes hands it to writeToStream. */
type ClientStream = EventEmitter & { closed?: boolean, client?: { broker?: { [COUNTER]?: InflightCounter } } }

function noteWritten (packet: AnyPacket, stream: object): void {
  const cmd = packet.cmd
  if (cmd !== 'publish' && cmd !== 'pubrel') return
  if (cmd === 'publish' && (packet.qos ?? 0) === 0) return
  const id = packet.messageId
  if (typeof id !== 'number') return
  const flows = flowsOf.get(stream) ?? startFlows(stream as ClientStream)
  if (flows === undefined || flows.ids.has(id)) return
  flows.ids.add(id)
  flows.counter.count++
}

/** The flows of a connection's first QoS 1/2 write; its close ends them. Undefined for a closed stream or one of no counted broker. */
function startFlows (stream: ClientStream): Flows | undefined {
  const counter = stream.client?.broker?.[COUNTER]
  if (counter === undefined || stream.closed === true) return undefined
  const flows: Flows = { ids: new Set(), counter }
  flowsOf.set(stream, flows)
  stream.once('close', () => {
    flowsOf.delete(stream) // a write after the close starts nothing (stream.closed)
    counter.count -= flows.ids.size
    flows.ids.clear()
  })
  return flows
}

function endFlow (flows: Flows | undefined, id: unknown): void {
  if (flows !== undefined && typeof id === 'number' && flows.ids.delete(id)) flows.counter.count--
}

/** Installs the counter on a broker (before its first connection); returns the figure it keeps. */
export function installCountOutgoingInflight (aedes: unknown, mqttPacket: unknown): InflightCounter {
  const counter: InflightCounter = { count: 0 }
  ;(aedes as { [COUNTER]?: InflightCounter })[COUNTER] = counter
  watchWrittenPackets(mqttPacket, noteWritten)
  addPacketFilter(aedes, (client, packet) => {
    const cmd = packet.cmd
    if (cmd === 'puback' || cmd === 'pubcomp') endFlow(flowsOf.get(client.conn), packet.messageId)
    else if (cmd === 'pubrec' && isFailureCode(packet.reasonCode ?? 0)) endFlow(flowsOf.get(client.conn), packet.messageId)
    return true
  })
  return counter
}
