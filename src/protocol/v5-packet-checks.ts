// Checks on parsed MQTT 5 packets that aedes 2.0.0-beta.1 does not make before
// it uses them. mqtt-packet decodes a string property whose string is missing
// (e.g. a PUBLISH ending right after the Response Topic identifier 0x08) to
// null; aedes then calls null.indexOf() and the TypeError takes the whole
// process down. Found on this project: one 8-byte PUBLISH killed the broker.
import mqttPacket from 'mqtt-packet'

// Property value types by name [MQTT-2.2.2.2].
const STRING_PROPERTIES = ['contentType', 'responseTopic', 'assignedClientIdentifier', 'authenticationMethod', 'responseInformation', 'serverReference', 'reasonString']
const BINARY_PROPERTIES = ['correlationData', 'authenticationData']

/** A problem with a packet's v5 properties (and its will's), or undefined when they are well formed. */
export function checkPacketProperties (packet: { cmd: string, properties?: Record<string, unknown> | null, will?: { properties?: Record<string, unknown> | null } | null }): string | undefined {
  const own = checkProperties(packet.properties)
  if (own !== undefined) return `${packet.cmd}: ${own}`
  if (packet.cmd === 'connect' && packet.will !== undefined && packet.will !== null) {
    const will = checkProperties(packet.will.properties)
    if (will !== undefined) return `connect will: ${will}`
  }
  return undefined
}

function checkProperties (properties: Record<string, unknown> | null | undefined): string | undefined {
  if (properties === undefined || properties === null) return undefined
  if (typeof properties !== 'object') return 'properties are not a property list'
  // A property given twice: mqtt-packet turns its values into an array, which aedes then
  // uses as a number (a Session Expiry Interval twice killed the process at the close).
  // Only User Property may repeat on the way in [MQTT-2.2.2.2]; anything else twice is a
  // Protocol Error (MQTT 5.0 §3.1.2.11 and the like).
  for (const [name, value] of Object.entries(properties)) {
    if (name !== 'userProperties' && Array.isArray(value)) return `property ${name} appears more than once`
  }
  for (const name of STRING_PROPERTIES) {
    if (name in properties && typeof properties[name] !== 'string') return `property ${name} has no string value` // [MQTT-1.5.4]
  }
  for (const name of BINARY_PROPERTIES) {
    if (name in properties && !Buffer.isBuffer(properties[name])) return `property ${name} has no binary value` // [MQTT-1.5.6]
  }
  const user = properties.userProperties
  if (user !== undefined) {
    if (user === null || typeof user !== 'object') return 'userProperties are malformed'
    for (const [k, v] of Object.entries(user as Record<string, unknown>)) {
      const values = Array.isArray(v) ? v : [v]
      if (typeof k !== 'string' || values.some((x) => typeof x !== 'string')) return 'a user property is not a UTF-8 string pair' // [MQTT-1.5.7]
    }
  }
  return undefined
}

// mqtt-packet decodes ill-formed UTF-8 to U+FFFD, so U+FFFD stands for it.
const MALFORMED_STRING = /[\u0000\ufffd]/

/**
 * [MQTT-1.5.4-1] [MQTT-1.5.4-2] a topic or topic filter with U+0000 or ill-formed
 * UTF-8 makes the packet malformed (the connection closes; 0x81 for v5). aedes
 * only sees these through authorizePublish, which for a v5 client drops the
 * message and keeps the connection open.
 */
export function checkPacketStrings (packet: { cmd: string, topic?: unknown, subscriptions?: Array<{ topic?: unknown }>, unsubscriptions?: unknown[] }): string | undefined {
  const bad = (s: unknown): boolean => typeof s === 'string' && MALFORMED_STRING.test(s)
  if (packet.cmd === 'publish' && bad(packet.topic)) return 'topic name has U+0000 or ill-formed UTF-8'
  if (packet.cmd === 'subscribe' && packet.subscriptions?.some((s) => bad(s.topic)) === true) return 'topic filter has U+0000 or ill-formed UTF-8'
  if (packet.cmd === 'unsubscribe' && packet.unsubscriptions?.some(bad) === true) return 'topic filter has U+0000 or ill-formed UTF-8'
  return undefined
}

/** Bytes an outgoing PUBLISH takes on the wire (fixed header included), for a client's Maximum Packet Size [MQTT-3.1.2-24]. */
export function publishWireSize (packet: { topic: string, payload: Buffer | string, qos: number, retain?: boolean, properties?: Record<string, unknown> }, protocolVersion: 3 | 4 | 5): number {
  try {
    return mqttPacket.generate({ cmd: 'publish', topic: packet.topic, payload: packet.payload, qos: packet.qos as 0 | 1 | 2, retain: packet.retain === true, dup: false, messageId: packet.qos > 0 ? 1 : undefined, properties: protocolVersion === 5 ? packet.properties : undefined } as unknown as mqttPacket.Packet, { protocolVersion }).length
  } catch {
    return Number.POSITIVE_INFINITY // what cannot be serialized cannot be sent
  }
}
