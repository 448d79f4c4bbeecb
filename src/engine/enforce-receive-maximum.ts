// Override: the server's own Receive Maximum, on what v5 clients send.
// What aedes 2.0.0-beta.1 does: it advertises `receiveMaximum` in CONNACK
//   (lib/handlers/connect.js) and never counts against it: a client could
//   leave any number of QoS 1/2 PUBLISH packets unacknowledged, each one work
//   and state queued in the broker (issue 9).
// What edgemq does instead: per v5 connection, the packet ids of QoS 1 PUBLISH
//   packets not yet answered by PUBACK and of QoS 2 ones not yet answered by
//   PUBCOMP (or by a PUBREC with a failure code, which ends the flow). A new
//   one beyond the advertised maximum gets DISCONNECT 0x93 (Receive Maximum
//   exceeded) and the connection closes [MQTT-3.3.4-9] (MQTT 5.0 §3.3.4,
//   §4.9). A resend of an outstanding id (DUP) is the same message and takes no
//   new slot. Acknowledgements are seen where aedes writes them
//   (src/engine/watch-written-packets.ts). 3.1.1 has no Receive
//   Maximum; limits.maxUnreleasedQos2 bounds those clients.
// Canary: test/engine/enforce-receive-maximum.test.ts.
import type { Duplex } from 'node:stream'
import type { EventEmitter } from 'node:events'
import { isFailureCode, REASON } from '../reason-codes.ts'
import { watchWrittenPackets } from './watch-written-packets.ts'
import { addPacketFilter } from './intercept-parsed-packets.ts'

const REASON_RECEIVE_MAXIMUM_EXCEEDED = REASON.RECEIVE_MAXIMUM_EXCEEDED

type AnyPacket = Record<string, any> & { cmd: string }

/** The aedes client members this override reads. */
interface WindowClient {
  id: string | null
  version: number | null
  conn: Duplex
  closed: boolean
  _parser: EventEmitter
  pause: () => void
  disconnect: (opts: { reasonCode: number, properties?: Record<string, unknown> }, done?: () => void) => void
}

/** The aedes instance members this override reads and wraps. */
interface WindowBroker {
  receiveMaximum: number
  handle: (conn: Duplex, req: unknown) => WindowClient
}

/** Packet ids of one connection's inbound QoS 1/2 messages not yet acknowledged. */
export class InboundWindow {
  readonly ids = new Set<number>()
  constructor (readonly max: number) {}

  /** A QoS 1/2 PUBLISH arrived: false when it is one too many. */
  received (messageId: number): boolean {
    if (this.ids.has(messageId)) return true // a resend of an outstanding message
    if (this.ids.size >= this.max) return false
    this.ids.add(messageId)
    return true
  }

  /** The broker wrote the acknowledgement that ends the flow of this id. */
  ended (messageId: number): void {
    this.ids.delete(messageId)
  }
}

/** Whether a written packet ends an inbound QoS 1/2 flow. */
function endsInboundFlow (packet: AnyPacket): boolean {
  return packet.cmd === 'puback' || packet.cmd === 'pubcomp' || (packet.cmd === 'pubrec' && isFailureCode(packet.reasonCode ?? 0))
}

const windows = new WeakMap<object, InboundWindow>()

/** Frees the slot of an inbound flow when its final acknowledgement is written. */
function noteWritten (packet: AnyPacket, stream: object): void {
  if (typeof packet.messageId === 'number' && endsInboundFlow(packet)) windows.get(stream)?.ended(packet.messageId)
}

/** Options of installEnforceReceiveMaximum. */
export interface ReceiveMaximumOptions {
  /** Called when a connection is closed for exceeding it (logs, counters). */
  onExceeded?: (clientId: string | null, max: number) => void
}

/** Installs the override (after installV5Shims and the publish encoder, before the first connection). */
export function installEnforceReceiveMaximum (aedes: unknown, mqttPacket: unknown, options: ReceiveMaximumOptions = {}): void {
  const broker = aedes as WindowBroker
  watchWrittenPackets(mqttPacket, noteWritten)
  addPacketFilter(aedes, (c, packet) => {
    const client = c as unknown as WindowClient
    if (packet.cmd !== 'publish' || (packet.qos ?? 0) === 0 || client.version !== 5 || broker.receiveMaximum <= 0 || typeof packet.messageId !== 'number') return true
    let window = windows.get(client.conn)
    if (window === undefined) { window = new InboundWindow(broker.receiveMaximum); windows.set(client.conn, window) }
    if (window.received(packet.messageId)) return true
    options.onExceeded?.(client.id, window.max)
    client.pause() // nothing after the offending packet is handled
    if (!client.closed) client.disconnect({ reasonCode: REASON_RECEIVE_MAXIMUM_EXCEEDED })
    return false
  })
}
