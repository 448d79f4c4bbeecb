// Override: acknowledgement packets that break the protocol.
// What aedes 2.0.0-beta.1 does: it handles PUBACK/PUBREC/PUBREL/PUBCOMP as
//   mqtt-packet parsed them: a property the packet may not carry is ignored, a
//   short packet (mqtt-packet gives packet id -1) is answered with a truncated
//   2-byte header (1-byte PUBREL -> `70 02` and nothing), a 3.1.1 ack with
//   a Remaining Length other than 2 is accepted, and a 3.1.1 PUBCOMP for a
//   PUBREL never sent is ignored (issue 9).
// What edgemq does instead: the checks of src/protocol/ack-packet-checks.ts
//   run before aedes sees the packet; a failing one closes the connection,
//   v5 clients hearing DISCONNECT 0x81 (malformed) or 0x82 (protocol error)
//   first [MQTT-4.13.1-1], 3.1.1 ones a plain close [MQTT-4.8.0-1]. A 3.1.1
//   PUBCOMP must answer a PUBREL written on this connection (the ids are seen
//   where aedes writes, src/engine/watch-written-packets.ts); a PUBREL for an
//   unknown id is still answered with PUBCOMP, as the QoS 2 flow requires
//   (a client resends PUBREL after a reconnect for a flow already completed).
// The same filter closes on a QoS 1/2 PUBLISH with packet id 0 [MQTT-2.3.1-1],
//   a SUBSCRIBE/UNSUBSCRIBE with no filter [MQTT-3.8.3-3] [MQTT-3.10.3-2] and a
//   v5 SUBSCRIBE with a malformed filter (src/protocol/request-packet-checks.ts).
// Canary: test/engine/close-on-bad-acks.test.ts.
import type { EventEmitter } from 'node:events'
import { checkAckPacket, type AckProblem } from '../protocol/ack-packet-checks.ts'
import { checkRequestPacket } from '../protocol/request-packet-checks.ts'
import { watchWrittenPackets } from './watch-written-packets.ts'
import { REASON } from '../reason-codes.ts'
import { addPacketFilter } from './intercept-parsed-packets.ts'

type AnyPacket = Record<string, any> & { cmd: string }

/** The aedes client members this override reads. */
interface AckClient {
  id: string | null
  version: number | null
  conn: object
  closed: boolean
  connackSent: boolean
  _parser: EventEmitter
  pause: () => void
  emit: (event: string, ...args: unknown[]) => boolean
  disconnect: (opts: { reasonCode: number, properties?: Record<string, unknown> }, done?: () => void) => void
}

/** Packet ids of the PUBRELs written on a connection and not yet answered by PUBCOMP. */
const outstandingPubrel = new WeakMap<object, Set<number>>()

function notePubrel (packet: AnyPacket, stream: object): void {
  if (packet.cmd !== 'pubrel' || typeof packet.messageId !== 'number') return
  let ids = outstandingPubrel.get(stream)
  if (ids === undefined) { ids = new Set(); outstandingPubrel.set(stream, ids) }
  ids.add(packet.messageId)
}

/** Options of installCloseOnBadAcks. */
export interface BadAckOptions {
  /** Called when a connection is closed for a bad acknowledgement (logs, counters). */
  onClosed?: (clientId: string | null, problem: AckProblem) => void
}

/** Installs the override (after installV5Shims; before the first connection). */
export function installCloseOnBadAcks (aedes: unknown, mqttPacket: unknown, options: BadAckOptions = {}): void {
  watchWrittenPackets(mqttPacket, notePubrel)
  addPacketFilter(aedes, (c, packet) => {
    const client = c as unknown as AckClient
    const cmd = packet.cmd
    const version = client.version ?? 4
    if (cmd === 'publish' || cmd === 'subscribe' || cmd === 'unsubscribe') {
      const bad = checkRequestPacket(packet, version)
      if (bad === undefined) return true
      closeForProblem(client, bad, options)
      return false
    }
    if (cmd !== 'puback' && cmd !== 'pubrec' && cmd !== 'pubrel' && cmd !== 'pubcomp') return true
    let problem = checkAckPacket(packet, version)
    if (problem === undefined && cmd === 'pubcomp' && version < 5) {
      const ids = outstandingPubrel.get(client.conn)
      if (ids?.delete(packet.messageId as number) !== true) problem = { reasonCode: REASON.PROTOCOL_ERROR, reason: `pubcomp for packet id ${String(packet.messageId)}, which has no PUBREL outstanding` }
    }
    if (problem === undefined) return true
    closeForProblem(client, problem, options)
    return false
  })
}

/** Closes a connection for a packet that breaks the protocol (v5 after CONNACK: DISCONNECT with the reason code first). */
function closeForProblem (client: AckClient, problem: AckProblem, options: BadAckOptions): void {
  options.onClosed?.(client.id, problem)
  client.pause() // nothing after the offending packet is handled
  if (client.version === 5 && client.connackSent && !client.closed) client.disconnect({ reasonCode: problem.reasonCode })
  else client.emit('error', new Error(problem.reason))
}
