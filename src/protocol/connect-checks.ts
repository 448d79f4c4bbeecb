// Checks on a parsed CONNECT that mqtt-packet and aedes 2.0.0-beta.1 do not
// make (issue 9). mqtt-packet reads the fields the flags announce and ignores
// bytes left over, so a user name or password sent without its flag passes; it
// accepts will QoS 3, a 3.1.1 password without a user name, and a v5 Maximum
// Packet Size of 0. Pure: the caller passes the Remaining Length the same
// CONNECT encodes to (src/engine/check-connect.ts asks mqtt-packet).

/** What is wrong with a CONNECT: the v5 CONNACK reason code and the reason. */
export interface ConnectProblem {
  /** 0x81 Malformed Packet or 0x82 Protocol Error (3.1.1 clients are closed without a CONNACK). */
  reasonCode: 0x81 | 0x82
  reason: string
}

interface ParsedConnect {
  cmd: string
  protocolVersion?: number
  length?: number
  username?: unknown
  password?: unknown
  will?: { qos?: number } | null
  properties?: Record<string, unknown> | null
}

/**
 * A problem with a parsed CONNECT, or undefined. `encodedLength` is the
 * Remaining Length of the fields the flags announce, encoded again (undefined
 * when it cannot be); more bytes than that on the wire are a user name or
 * password sent without its flag.
 */
export function checkConnectPacket (packet: ParsedConnect, encodedLength?: number): ConnectProblem | undefined {
  if (packet.cmd !== 'connect') return undefined
  const version = packet.protocolVersion ?? 4
  if (packet.will !== undefined && packet.will !== null && packet.will.qos === 3) {
    return { reasonCode: 0x81, reason: 'will QoS 3 [MQTT-3.1.2-14]' }
  }
  if (version < 5 && packet.password !== undefined && packet.username === undefined) {
    return { reasonCode: 0x81, reason: 'password flag without the user name flag [MQTT-3.1.2-22]' }
  }
  if (version === 5 && packet.properties?.maximumPacketSize === 0) {
    return { reasonCode: 0x82, reason: 'Maximum Packet Size 0 (MQTT 5.0 §3.1.2.11.4)' }
  }
  const expected = encodedLength
  if (expected !== undefined && typeof packet.length === 'number' && packet.length > expected) {
    return { reasonCode: 0x81, reason: `${packet.length - expected} bytes after the fields the flags announce: a user name or password without its flag [MQTT-3.1.2-18] [MQTT-3.1.2-20]` }
  }
  return undefined
}
