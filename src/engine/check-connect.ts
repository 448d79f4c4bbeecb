// Override: CONNECT packets the spec says to refuse.
// What aedes 2.0.0-beta.1 does: it accepts what mqtt-packet parsed (will QoS 3,
//   a user name or password without its flag, a 3.1.1 password without a user
//   name, a v5 Maximum Packet Size of 0 or one smaller than its own CONNACK),
//   and an unsupported protocol level is a parse error that closes the
//   connection with no CONNACK (issue 9).
// What edgemq does instead:
//  - the checks of src/protocol/connect-checks.ts run before aedes handles the
//    CONNECT: 3.1.1 clients are closed without a CONNACK, v5 clients get a
//    CONNACK with 0x81 (malformed) or 0x82 (protocol error) first [MQTT-4.13.1-1];
//  - an unsupported protocol level gets CONNACK 0x01 ("unacceptable protocol
//    version", 3.1.1 form) before the close [MQTT-3.1.2-2];
//  - a CONNACK larger than the client's Maximum Packet Size is not sent (the
//    client said it cannot take it [MQTT-3.1.2-24]) and the connection closes,
//    as Mosquitto does; so does anything else aedes would write after it.
// Canary: test/engine/check-connect.test.ts.
import type { Duplex } from 'node:stream'
import type { EventEmitter } from 'node:events'
import { checkConnectPacket, type ConnectProblem } from '../protocol/connect-checks.ts'
import { addPacketFilter, addParseErrorFilter } from './intercept-parsed-packets.ts'
import { watchWrittenPackets } from './watch-written-packets.ts'

type AnyPacket = Record<string, any> & { cmd: string }

/** Marks a client whose CONNECT was parsed. */
const SAW_CONNECT = Symbol('edgemq.sawConnect')

/** The aedes client members this override reads. */
interface ConnectClient {
  conn: Duplex
  _parser: EventEmitter
  pause: () => void
  /** Set when the client's CONNECT was parsed (a later protocol-version error is not a CONNECT's). */
  [SAW_CONNECT]?: true
}

/** CONNACK 0x01 in the 3.1.1 form: "unacceptable protocol version" [MQTT-3.2.2-4]. */
const CONNACK_UNACCEPTABLE_VERSION = Buffer.from([0x20, 0x02, 0x00, 0x01])

/** The Maximum Packet Size of v5 connections that sent one. */
const clientMaximum = new WeakMap<object, number>()
/** Connections whose CONNACK could not be sent: nothing more is written to them. */
const refused = new WeakSet<object>()

/** Options of installCheckConnect. */
export interface CheckConnectOptions {
  /** Called when a CONNECT is refused (logs, counters). */
  onRefused?: (problem: ConnectProblem | { reason: string }) => void
}

/** Installs the override (after installV5Shims; before the first connection). */
export function installCheckConnect (aedes: unknown, mqttPacket: unknown, options: CheckConnectOptions = {}): void {
  const mod = mqttPacket as { generate: (p: unknown, o: unknown) => Buffer, writeToStream: (p: unknown, s: unknown, o: unknown) => boolean }
  watchWrittenPackets(mqttPacket, (packet, stream) => {
    if (refused.has(stream)) return false
    if (packet.cmd !== 'connack') return true
    const max = clientMaximum.get(stream)
    if (max === undefined) return true
    let size: number
    try { size = mod.generate(packet, { protocolVersion: 5 }).length } catch { return true }
    if (size <= max) return true
    refused.add(stream)
    options.onRefused?.({ reason: `the CONNACK (${size} bytes) is larger than the client's Maximum Packet Size (${max})` })
    setImmediate(() => { (stream as Duplex).destroy() })
    return false
  })
  addPacketFilter(aedes, (c, packet) => {
    if (packet.cmd !== 'connect') return true
    const client = c as unknown as ConnectClient
    client[SAW_CONNECT] = true
    const problem = checkConnectPacket(packet, encodedRemainingLength(mod, packet))
    if (problem === undefined) {
      const max = packet.properties?.maximumPacketSize
      if (packet.protocolVersion === 5 && typeof max === 'number') clientMaximum.set(client.conn, max)
      return true
    }
    options.onRefused?.(problem)
    client.pause()
    if (packet.protocolVersion === 5) mod.writeToStream({ cmd: 'connack', sessionPresent: false, reasonCode: problem.reasonCode }, client.conn, { protocolVersion: 5 })
    // No error: a destroy without one ends the socket once the CONNACK is flushed (src/engine/flush-before-close.ts).
    client.conn.destroy()
    return false
  })
  addParseErrorFilter(aedes, (c, err) => {
    const client = c as unknown as ConnectClient
    // mqtt-packet: "Invalid protocol version" for a level it does not speak
    if (client[SAW_CONNECT] !== true && /protocol version/i.test(err.message)) {
      options.onRefused?.({ reason: err.message })
      client.conn.write(CONNACK_UNACCEPTABLE_VERSION) // [MQTT-3.1.2-2]
    }
    return true
  })
}

/** The Remaining Length mqtt-packet gives the same CONNECT, or undefined when it will not encode it. */
export function encodedRemainingLength (mod: { generate: (p: unknown, o: unknown) => Buffer }, packet: AnyPacket): number | undefined {
  // 3.1/3.1.1 (no properties): counted, not encoded (the encoding was ~2 % of a connect storm's CPU)
  if (packet.protocolVersion === 3 || packet.protocolVersion === 4) return countedRemainingLength(packet)
  let bytes: Buffer
  try {
    bytes = mod.generate(packet, { protocolVersion: packet.protocolVersion ?? 4 })
  } catch {
    return undefined // mqtt-packet will not encode it: no length to compare
  }
  let length = 0
  let multiplier = 1
  for (let i = 1; i < Math.min(bytes.length, 5); i++) {
    length += (bytes[i] & 0x7f) * multiplier
    if ((bytes[i] & 0x80) === 0) return length
    multiplier *= 128
  }
  return undefined
}

/**
 * The Remaining Length mqtt-packet's writeToStream gives a 3.1/3.1.1 CONNECT,
 * counted field by field as it counts it (undefined where it refuses to encode
 * one): protocol name, level, flags, keepalive, client id, will topic and
 * payload, user name, password, each string with its two-byte length [MQTT-3.1].
 * test/engine/check-connect.test.ts compares it with mqtt-packet's encoding.
 */
export function countedRemainingLength (packet: AnyPacket): number | undefined {
  // `||` where mqtt-packet uses it: an empty protocol name or client id, keepalive 0/NaN, fall back alike
  const version = packet.protocolVersion || 4
  const protocolId = packet.protocolId || 'MQTT'
  if (typeof protocolId !== 'string' && !Buffer.isBuffer(protocolId)) return undefined
  let length = protocolId.length + 2 + 1 // name, level
  const clientId = packet.clientId || ''
  const clean = packet.clean === undefined ? true : packet.clean
  if ((typeof clientId === 'string' || Buffer.isBuffer(clientId)) && (clientId !== '' || version >= 4) && (clientId !== '' || Boolean(clean))) {
    length += lengthOf(clientId)
  } else {
    return undefined // a client id is needed before 3.1.1, and with CleanSession 0
  }
  const keepalive = packet.keepalive || 0
  if (typeof keepalive !== 'number' || keepalive < 0 || keepalive > 65_535 || keepalive % 1 !== 0) return undefined
  length += 2 + 1 // keepalive, flags
  const will = packet.will
  if (will) {
    if (typeof will !== 'object' || !will.topic || typeof will.topic !== 'string') return undefined
    length += lengthOf(will.topic) + 2
    if (will.payload) {
      if (!(will.payload.length >= 0)) return undefined
      length += typeof will.payload === 'string' ? Buffer.byteLength(will.payload) : will.payload.length
    }
  }
  const username = packet.username
  if (username !== undefined && username !== null) {
    if (typeof username !== 'string' && !Buffer.isBuffer(username)) return undefined
    length += lengthOf(username)
  }
  const password = packet.password
  if (password !== undefined && password !== null) {
    if (username === undefined || username === null) return undefined // mqtt-packet: a password needs a user name
    if (typeof password !== 'string' && !Buffer.isBuffer(password)) return undefined
    length += lengthOf(password)
  }
  return length
}

/** A string or bytes with its two-byte length prefix. */
function lengthOf (value: string | Buffer): number {
  return (typeof value === 'string' ? Buffer.byteLength(value) : value.length) + 2
}
