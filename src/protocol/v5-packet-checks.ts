// Checks on parsed MQTT 5 packets that aedes 2.0.0-beta.1 does not make before
// it uses them. mqtt-packet decodes a string property whose string is missing
// (e.g. a PUBLISH ending right after the Response Topic identifier 0x08) to
// null; aedes then calls null.indexOf() and the TypeError takes the whole
// process down. Found on this project: one 8-byte PUBLISH killed the broker.
import mqttPacket from 'mqtt-packet'
import { REASON } from '../reason-codes.ts'

// mqtt-packet decodes ill-formed UTF-8 to U+FFFD, so U+FFFD stands for it.
const MALFORMED_STRING = /[\u0000\ufffd]/

// Property value types by name [MQTT-2.2.2.2].
const STRING_PROPERTIES = ['contentType', 'responseTopic', 'assignedClientIdentifier', 'authenticationMethod', 'responseInformation', 'serverReference', 'reasonString']
const BINARY_PROPERTIES = ['correlationData', 'authenticationData']

// The properties each packet a client sends may carry (MQTT 5.0 §2.2.2.2, Table 2-4).
// mqtt-packet decodes any identifier in any packet; an identifier that is not valid for
// its packet type makes the packet malformed.
const UNIVERSAL = ['userProperties']
const ACK = ['reasonString', ...UNIVERSAL]
const MESSAGE = ['payloadFormatIndicator', 'messageExpiryInterval', 'contentType', 'responseTopic', 'correlationData', ...UNIVERSAL]
const INBOUND_PROPERTIES: Readonly<Record<string, ReadonlySet<string>>> = {
  connect: new Set(['sessionExpiryInterval', 'authenticationMethod', 'authenticationData', 'requestProblemInformation', 'requestResponseInformation', 'receiveMaximum', 'topicAliasMaximum', 'maximumPacketSize', ...UNIVERSAL]),
  will: new Set(['willDelayInterval', ...MESSAGE]),
  // subscriptionIdentifier is a valid PUBLISH identifier, but a client sending it is a protocol error [MQTT-3.3.4-6]
  publish: new Set(['topicAlias', 'subscriptionIdentifier', ...MESSAGE]),
  puback: new Set(ACK),
  pubrec: new Set(ACK),
  pubrel: new Set(ACK),
  pubcomp: new Set(ACK),
  subscribe: new Set(['subscriptionIdentifier', ...UNIVERSAL]),
  unsubscribe: new Set(UNIVERSAL),
  disconnect: new Set(['sessionExpiryInterval', 'serverReference', ...ACK]),
  auth: new Set(['authenticationMethod', 'authenticationData', ...ACK])
}

// Values the spec calls a Protocol Error (reason code 0x82), by property.
const PROTOCOL_VALUES: ReadonlyArray<[string, (v: unknown) => boolean, string]> = [
  // (Request Response Information, Request Problem Information and Payload Format Indicator
  // other than 0 or 1 are protocol errors too, but mqtt-packet decodes them to booleans:
  // a 2 cannot be told from a 1 after parsing.)
  ['receiveMaximum', (v) => v === 0, 'must not be 0'], // §3.1.2.11.3
  ['maximumPacketSize', (v) => v === 0, 'must not be 0'], // §3.1.2.11.4
  ['subscriptionIdentifier', (v) => v === 0, 'must not be 0'] // §3.8.2.1.2
]

/** Problems that are a Protocol Error (0x82) start with this; the others are malformed (0x81). */
export const PROTOCOL_ERROR_PREFIX = 'protocol error: '

/** The v5 reason code to close with for a problem from these checks: protocol error or malformed packet. */
export function reasonCodeOfProblem (problem: string): typeof REASON.PROTOCOL_ERROR | typeof REASON.MALFORMED_PACKET {
  return problem.includes(PROTOCOL_ERROR_PREFIX) ? REASON.PROTOCOL_ERROR : REASON.MALFORMED_PACKET
}

/**
 * A problem with a packet's v5 properties, or undefined when they are well formed.
 * CONNECT is left to checkConnectProperties, which check-connect answers with a CONNACK.
 */
export function checkPacketProperties (packet: { cmd: string, properties?: Record<string, unknown> | null, will?: { properties?: Record<string, unknown> | null } | null }): string | undefined {
  if (packet.cmd === 'connect') return undefined
  return checkAnyProperties(packet)
}

/** A problem with a v5 CONNECT's properties or its will's, or undefined. */
export function checkConnectProperties (packet: { cmd: string, properties?: Record<string, unknown> | null, will?: { properties?: Record<string, unknown> | null } | null }): string | undefined {
  return packet.cmd === 'connect' ? checkAnyProperties(packet) : undefined
}

function checkAnyProperties (packet: { cmd: string, properties?: Record<string, unknown> | null, will?: { properties?: Record<string, unknown> | null } | null }): string | undefined {
  const own = checkProperties(packet.properties, packet.cmd)
  if (own !== undefined) return `${packet.cmd}: ${own}`
  if (packet.cmd === 'publish' && packet.properties?.subscriptionIdentifier !== undefined) return `publish: ${PROTOCOL_ERROR_PREFIX}a client's PUBLISH carries a Subscription Identifier [MQTT-3.3.4-6]`
  if (packet.cmd === 'connect' && packet.will !== undefined && packet.will !== null) {
    const will = checkProperties(packet.will.properties, 'will')
    if (will !== undefined) return `connect will: ${will}`
  }
  return undefined
}

function checkProperties (properties: Record<string, unknown> | null | undefined, kind: string): string | undefined {
  if (properties === undefined || properties === null) return undefined
  if (typeof properties !== 'object') return 'properties are not a property list'
  const allowed = INBOUND_PROPERTIES[kind]
  for (const [name, value] of Object.entries(properties)) {
    if (allowed !== undefined && !allowed.has(name)) return `property ${name} is not valid in ${kind.toUpperCase()} [MQTT-2.2.2.2]`
    // A property given twice: mqtt-packet turns its values into an array, which aedes then
    // uses as a number (a Session Expiry Interval twice killed the process at the close).
    // Only User Property may repeat on the way in; anything else twice is a Protocol Error.
    if (name !== 'userProperties' && Array.isArray(value)) return `${PROTOCOL_ERROR_PREFIX}property ${name} appears more than once`
    if (typeof value === 'string' && MALFORMED_STRING.test(value)) return `property ${name} has U+0000 or ill-formed UTF-8 [MQTT-1.5.4-1] [MQTT-1.5.4-2]`
  }
  for (const [name, bad, rule] of PROTOCOL_VALUES) {
    if (name in properties && bad(properties[name])) return `${PROTOCOL_ERROR_PREFIX}property ${name} ${rule}: got ${String(properties[name])}`
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
      if (MALFORMED_STRING.test(k) || values.some((x) => MALFORMED_STRING.test(x as string))) return 'a user property has U+0000 or ill-formed UTF-8 [MQTT-1.5.4-1] [MQTT-1.5.4-2]'
    }
  }
  return undefined
}


/**
 * [MQTT-1.5.4-1] [MQTT-1.5.4-2] a topic or topic filter with U+0000 or ill-formed
 * UTF-8 makes the packet malformed (the connection closes; 0x81 for v5). aedes
 * only sees these through authorizePublish, which for a v5 client drops the
 * message and keeps the connection open.
 */
export function checkPacketStrings (packet: { cmd: string, topic?: unknown, qos?: number, messageId?: number, subscriptions?: Array<{ topic?: unknown }>, unsubscriptions?: unknown[] }): string | undefined {
  const bad = (s: unknown): boolean => typeof s === 'string' && MALFORMED_STRING.test(s)
  // [MQTT-2.3.1-1] a QoS 1/2 PUBLISH needs a non-zero packet identifier
  if (packet.cmd === 'publish' && (packet.qos ?? 0) > 0 && packet.messageId === 0) return 'publish: packet identifier 0 [MQTT-2.3.1-1]'
  // [MQTT-3.10.3-2] an UNSUBSCRIBE names at least one filter
  if (packet.cmd === 'unsubscribe' && (packet.unsubscriptions?.length ?? 0) === 0) return 'unsubscribe: no topic filter [MQTT-3.10.3-2]'
  // [MQTT-4.7.1-1] a filter whose wildcards are misplaced is malformed
  if (packet.cmd === 'subscribe' && packet.subscriptions?.some((s) => typeof s.topic === 'string' && badFilter(s.topic)) === true) return 'subscribe: malformed topic filter [MQTT-4.7.1-1]'
  if (packet.cmd === 'unsubscribe' && packet.unsubscriptions?.some((t) => typeof t === 'string' && badFilter(t)) === true) return 'unsubscribe: malformed topic filter [MQTT-4.7.1-1]'
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

/** Whether a topic filter misplaces a wildcard: # not alone as the last level, + not alone in its level [MQTT-4.7.1-2] [MQTT-4.7.1-3]. */
function badFilter (filter: string): boolean {
  // $share/NAME/filter: a bad share name gets its own SUBACK 0x8F (shared subscriptions), so only the filter is checked here
  const levels = (filter.startsWith('$share/') ? filter.split('/').slice(2) : filter.split('/'))
  return levels.some((l, i) => (l.includes('#') && (l !== '#' || i !== levels.length - 1)) || (l.includes('+') && l !== '+'))
}
