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
//   made at its start; no allocation per message.
// Canary: test/engine/count-outgoing-inflight.test.ts (aedes writes through
//   mqtt-packet's writeToStream, parses into client._parser, and hands the
//   connection's stream as client.conn).
import type { EventEmitter } from 'node:events'
import { isFailureCode } from '../reason-codes.ts'
import { interceptParsedPackets } from './intercept-parsed-packets.ts'
import { watchWrittenPackets } from './watch-written-packets.ts'

type AnyPacket = Record<string, any> & { cmd: string }

/** The broker-wide figure; read at scrape time. */
export interface InflightCounter {
  /** Outgoing QoS 1/2 flows open now, over all connections. */
  count: number
}

interface Flows {
  ids: Set<number>
  closed: boolean
  counter: InflightCounter
}

/** Open flows per connection stream (the key aedes writes to). */
const flowsOf = new WeakMap<object, Flows>()

function noteWritten (packet: AnyPacket, stream: object): void {
  const cmd = packet.cmd
  if (cmd !== 'publish' && cmd !== 'pubrel') return
  if (cmd === 'publish' && (packet.qos ?? 0) === 0) return
  const id = packet.messageId
  if (typeof id !== 'number') return
  const flows = flowsOf.get(stream)
  if (flows === undefined || flows.closed || flows.ids.has(id)) return
  flows.ids.add(id)
  flows.counter.count++
}

function endFlow (flows: Flows, id: unknown): void {
  if (typeof id === 'number' && flows.ids.delete(id)) flows.counter.count--
}

/** Installs the counter on a broker (before its first connection); returns the figure it keeps. */
export function installCountOutgoingInflight (aedes: unknown, mqttPacket: unknown): InflightCounter {
  const counter: InflightCounter = { count: 0 }
  const broker = aedes as { handle: (conn: unknown, req: unknown) => { conn: EventEmitter, _parser: EventEmitter } }
  watchWrittenPackets(mqttPacket, noteWritten)
  const handle = broker.handle
  broker.handle = function handleCounted (this: unknown, conn: unknown, req: unknown) {
    const client = handle.call(this, conn, req)
    const stream = client.conn
    const flows: Flows = { ids: new Set(), closed: false, counter }
    flowsOf.set(stream, flows)
    stream.once('close', () => {
      flows.closed = true
      counter.count -= flows.ids.size
      flows.ids.clear()
    })
    interceptParsedPackets(client._parser, (packet) => {
      const cmd = packet.cmd
      if (cmd === 'puback' || cmd === 'pubcomp') endFlow(flows, packet.messageId)
      else if (cmd === 'pubrec' && isFailureCode(packet.reasonCode ?? 0)) endFlow(flows, packet.messageId)
      return true
    })
    return client
  }
  return counter
}
