// Checks on parsed PUBACK / PUBREC / PUBREL / PUBCOMP packets that aedes
// 2.0.0-beta.1 and mqtt-packet do not make (issue 9). mqtt-packet decodes a
// short acknowledgement to packet id -1 (aedes then answered a 1-byte PUBREL
// with a truncated 2-byte PUBCOMP header), accepts any property in any packet,
// and turns a repeated single-valued property into an array. Pure: no aedes.

/** The acknowledgement packets. */
const ACKS = new Set(['puback', 'pubrec', 'pubrel', 'pubcomp'])

/** Properties an acknowledgement may carry (MQTT 5.0 §3.4.2.2, §3.5.2.2, §3.6.2.2, §3.7.2.2). */
const ACK_PROPERTIES = new Set(['reasonString', 'userProperties'])

/** What is wrong with an acknowledgement and the v5 reason code for it. */
export interface AckProblem {
  /** 0x81 Malformed Packet or 0x82 Protocol Error. */
  reasonCode: 0x81 | 0x82
  reason: string
}

/** A problem with an acknowledgement packet, or undefined (also for packets that are not acknowledgements). */
export function checkAckPacket (packet: { cmd: string, messageId?: unknown, length?: unknown, properties?: Record<string, unknown> | null }, protocolVersion: number): AckProblem | undefined {
  if (!ACKS.has(packet.cmd)) return undefined
  const id = packet.messageId
  // [MQTT-2.3.1-1] a non-zero 16-bit packet id; mqtt-packet says -1 when the bytes are missing
  if (typeof id !== 'number' || id < 1 || id > 0xFFFF) return { reasonCode: 0x81, reason: `${packet.cmd} without a valid packet identifier` }
  if (protocolVersion < 5) {
    // 3.1.1 §3.4.1-§3.7.1: the Remaining Length is 2
    if (packet.length !== 2) return { reasonCode: 0x81, reason: `${packet.cmd} with Remaining Length ${String(packet.length)}, not 2` }
    return undefined
  }
  const props = packet.properties
  if (props === undefined || props === null) return undefined
  for (const name in props) {
    // MQTT 5.0 §2.2.2.2: an identifier not valid for the packet type is a Malformed Packet
    if (!ACK_PROPERTIES.has(name)) return { reasonCode: 0x81, reason: `${packet.cmd} with property ${name}, which it may not carry` }
  }
  const reasonString = props.reasonString
  // §3.4.2.2.2: a Reason String more than once is a Protocol Error
  if (Array.isArray(reasonString)) return { reasonCode: 0x82, reason: `${packet.cmd} with more than one Reason String` }
  if (reasonString !== undefined && typeof reasonString !== 'string') return { reasonCode: 0x81, reason: `${packet.cmd} with a Reason String that is not a string` }
  return undefined
}
