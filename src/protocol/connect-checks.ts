// Checks on a parsed CONNECT that mqtt-packet and aedes 2.0.0-beta.1 do not
// make (issue 9). mqtt-packet reads the fields the flags announce and ignores
// bytes left over, so a user name or password sent without its flag passes; it
// accepts will QoS 3, a 3.1.1 password without a user name, and a v5 Maximum
// Packet Size of 0. Pure: the caller passes the Remaining Length the same
// CONNECT encodes to (src/engine/check-connect.ts asks mqtt-packet).
import { checkConnectProperties, reasonCodeOfProblem } from './v5-packet-checks.ts'

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
  if (version === 5) {
    // MQTT 5.0 §3.1.2.11, §3.1.3.2: every CONNECT and will property but User
    // Property may appear once; mqtt-packet turns a repeat into an array (a
    // repeated Session Expiry Interval made aedes arm a timer with an array
    // and the process died when the connection closed).
    const repeated = repeatedProperty(packet.properties) ?? repeatedProperty((packet.will as { properties?: Record<string, unknown> | null } | null | undefined)?.properties)
    if (repeated !== undefined) return { reasonCode: 0x82, reason: `property ${repeated} given more than once` }
  }
  if (version === 5 && packet.properties?.maximumPacketSize === 0) {
    return { reasonCode: 0x82, reason: 'Maximum Packet Size 0 (MQTT 5.0 §3.1.2.11.4)' }
  }
  if (version === 5) {
    // A property twice, one CONNECT or a will may not carry, a bad string or value: CONNACK
    // 0x81 / 0x82 (a Session Expiry Interval twice killed the process before this check).
    const props = checkConnectProperties(packet as Parameters<typeof checkConnectProperties>[0])
    if (props !== undefined) return { reasonCode: reasonCodeOfProblem(props), reason: props }
  }
  const expected = encodedLength
  if (expected !== undefined && typeof packet.length === 'number' && packet.length > expected) {
    return { reasonCode: 0x81, reason: `${packet.length - expected} bytes after the fields the flags announce: a user name or password without its flag [MQTT-3.1.2-18] [MQTT-3.1.2-20]` }
  }
  return undefined
}

/** The name of a property other than User Property that was given more than once, or undefined. */
function repeatedProperty (properties: Record<string, unknown> | null | undefined): string | undefined {
  if (properties === undefined || properties === null) return undefined
  for (const name in properties) if (name !== 'userProperties' && Array.isArray(properties[name])) return name
  return undefined
}
