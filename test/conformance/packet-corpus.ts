// Valid MQTT packets to mutate, built by hand so each MQTT 5.0 property can be
// placed, repeated, cut or moved on purpose (mqtt-packet would refuse to write
// most of these). Every client-to-server packet type is here, every v5
// property (MQTT 5.0 §2.2.2.2 Table 2-4) is placed in a packet that allows it,
// and the packets a client must never send (CONNACK, SUBACK, UNSUBACK,
// PINGRESP) are here too.

/** How a property value is encoded (MQTT 5.0 §1.5). */
type PropType = 'byte' | 'u16' | 'u32' | 'vbi' | 'str' | 'bin' | 'pair'

/** Packet kinds, as the "Packet / Will Properties" column of Table 2-4 names them. */
export type Kind = 'connect' | 'will' | 'connack' | 'publish' | 'puback' | 'pubrec' | 'pubrel' | 'pubcomp' | 'subscribe' | 'suback' | 'unsubscribe' | 'unsuback' | 'pingreq' | 'pingresp' | 'disconnect' | 'auth'

interface PropSpec { id: number, name: string, type: PropType, in: Kind[], valid: number | string | Buffer | [string, string] }

/** Every MQTT 5.0 property: identifier, type, the packets it may appear in (client to server), a valid value. */
export const PROPERTIES: PropSpec[] = [
  { id: 0x01, name: 'payloadFormatIndicator', type: 'byte', in: ['publish', 'will'], valid: 1 },
  { id: 0x02, name: 'messageExpiryInterval', type: 'u32', in: ['publish', 'will'], valid: 60 },
  { id: 0x03, name: 'contentType', type: 'str', in: ['publish', 'will'], valid: 'text/plain' },
  { id: 0x08, name: 'responseTopic', type: 'str', in: ['publish', 'will'], valid: 'fz/reply' },
  { id: 0x09, name: 'correlationData', type: 'bin', in: ['publish', 'will'], valid: Buffer.from('cd') },
  // A client's PUBLISH must not carry one [MQTT-3.3.4-6]; only SUBSCRIBE may.
  { id: 0x0b, name: 'subscriptionIdentifier', type: 'vbi', in: ['subscribe'], valid: 7 },
  { id: 0x11, name: 'sessionExpiryInterval', type: 'u32', in: ['connect', 'connack', 'disconnect'], valid: 0 },
  { id: 0x12, name: 'assignedClientIdentifier', type: 'str', in: ['connack'], valid: 'x' },
  { id: 0x13, name: 'serverKeepAlive', type: 'u16', in: ['connack'], valid: 30 },
  { id: 0x15, name: 'authenticationMethod', type: 'str', in: ['connect', 'connack', 'auth'], valid: 'fuzz-method' },
  { id: 0x16, name: 'authenticationData', type: 'bin', in: ['connect', 'connack', 'auth'], valid: Buffer.from('ad') },
  { id: 0x17, name: 'requestProblemInformation', type: 'byte', in: ['connect'], valid: 1 },
  { id: 0x18, name: 'willDelayInterval', type: 'u32', in: ['will'], valid: 0 },
  { id: 0x19, name: 'requestResponseInformation', type: 'byte', in: ['connect'], valid: 0 },
  { id: 0x1a, name: 'responseInformation', type: 'str', in: ['connack'], valid: 'r' },
  { id: 0x1c, name: 'serverReference', type: 'str', in: ['connack', 'disconnect'], valid: 'other' },
  { id: 0x1f, name: 'reasonString', type: 'str', in: ['connack', 'puback', 'pubrec', 'pubrel', 'pubcomp', 'suback', 'unsuback', 'disconnect', 'auth'], valid: 'why' },
  { id: 0x21, name: 'receiveMaximum', type: 'u16', in: ['connect', 'connack'], valid: 10 },
  { id: 0x22, name: 'topicAliasMaximum', type: 'u16', in: ['connect', 'connack'], valid: 4 },
  { id: 0x23, name: 'topicAlias', type: 'u16', in: ['publish'], valid: 1 },
  { id: 0x24, name: 'maximumQoS', type: 'byte', in: ['connack'], valid: 1 },
  { id: 0x25, name: 'retainAvailable', type: 'byte', in: ['connack'], valid: 1 },
  { id: 0x26, name: 'userProperty', type: 'pair', in: ['connect', 'will', 'connack', 'publish', 'puback', 'pubrec', 'pubrel', 'pubcomp', 'subscribe', 'suback', 'unsubscribe', 'unsuback', 'disconnect', 'auth'], valid: ['k', 'v'] },
  { id: 0x27, name: 'maximumPacketSize', type: 'u32', in: ['connect', 'connack'], valid: 65_536 },
  { id: 0x28, name: 'wildcardSubscriptionAvailable', type: 'byte', in: ['connack'], valid: 1 },
  { id: 0x29, name: 'subscriptionIdentifierAvailable', type: 'byte', in: ['connack'], valid: 1 },
  { id: 0x2a, name: 'sharedSubscriptionAvailable', type: 'byte', in: ['connack'], valid: 1 }
]

export const propertyById = (id: number): PropSpec => {
  const p = PROPERTIES.find((x) => x.id === id)
  if (p === undefined) throw new Error(`no property 0x${id.toString(16)}`)
  return p
}

/** Variable byte integer [MQTT-1.5.5-1]. */
export function vbi (n: number): Buffer {
  const out: number[] = []
  do {
    let b = n % 128
    n = Math.floor(n / 128)
    if (n > 0) b |= 0x80
    out.push(b)
  } while (n > 0)
  return Buffer.from(out)
}

const u16 = (n: number): Buffer => Buffer.from([(n >> 8) & 0xff, n & 0xff])
const u32 = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32BE(n >>> 0); return b }
/** A two-byte length prefixed string or binary. */
export const str = (s: string | Buffer): Buffer => { const b = typeof s === 'string' ? Buffer.from(s) : s; return Buffer.concat([u16(b.length), b]) }

/** One property: identifier then value in its type. */
export function encodeProperty (id: number, value?: number | string | Buffer | [string, string]): Buffer {
  const spec = propertyById(id)
  const v = value ?? spec.valid
  let body: Buffer
  switch (spec.type) {
    case 'byte': body = Buffer.from([v as number]); break
    case 'u16': body = u16(v as number); break
    case 'u32': body = u32(v as number); break
    case 'vbi': body = vbi(v as number); break
    case 'str': body = str(v as string); break
    case 'bin': body = str(v as Buffer); break
    case 'pair': body = Buffer.concat([str((v as [string, string])[0]), str((v as [string, string])[1])]); break
  }
  return Buffer.concat([vbi(id), body])
}

/** A property block: its length, then the properties. */
export const propertyBlock = (props: Buffer[]): Buffer => { const all = Buffer.concat(props); return Buffer.concat([vbi(all.length), all]) }

/** A packet from its first byte and its body (the remaining length is computed). */
export const packet = (first: number, body: Buffer): Buffer => Buffer.concat([Buffer.from([first]), vbi(body.length), body])

/** The valid properties a client may put in a packet kind (one of each; userProperty twice, as it may repeat). */
export function validPropertyIds (kind: Kind): number[] {
  const ids = PROPERTIES.filter((p) => p.in.includes(kind)).map((p) => p.id)
  // Authentication would start enhanced auth, which edgemq does not offer; keep the base packets plain.
  return ids.filter((id) => id !== 0x15 && id !== 0x16)
}

/** Client-to-server v5 packets a fuzz case starts from, each built with the given properties. */
export const V5_BUILDERS: Record<string, { kind: Kind, afterConnect: boolean, build: (props: Buffer, connectProps?: Buffer, clientId?: string) => Buffer }> = {
  connect: { kind: 'connect', afterConnect: false, build: (props, _c, clientId = 'fz-c') => packet(0x10, Buffer.concat([str('MQTT'), Buffer.from([5, 0x02]), u16(2), props, str(clientId)])) },
  'connect-will': {
    kind: 'will',
    afterConnect: false,
    // Will flag, will QoS 1, clean start; the will properties are what the case varies.
    build: (props, connectProps, clientId = 'fz-w') => packet(0x10, Buffer.concat([str('MQTT'), Buffer.from([5, 0x0e]), u16(2), connectProps ?? propertyBlock([]), str(clientId), props, str('fz/will'), str('gone')]))
  },
  'publish-qos0': { kind: 'publish', afterConnect: true, build: (props) => packet(0x30, Buffer.concat([str('fz/p0'), props, Buffer.from('payload')])) },
  'publish-qos1': { kind: 'publish', afterConnect: true, build: (props) => packet(0x32, Buffer.concat([str('fz/p1'), u16(11), props, Buffer.from('payload')])) },
  'publish-qos2': { kind: 'publish', afterConnect: true, build: (props) => packet(0x34, Buffer.concat([str('fz/p2'), u16(12), props, Buffer.from('payload')])) },
  puback: { kind: 'puback', afterConnect: true, build: (props) => packet(0x40, Buffer.concat([u16(21), Buffer.from([0x00]), props])) },
  pubrec: { kind: 'pubrec', afterConnect: true, build: (props) => packet(0x50, Buffer.concat([u16(22), Buffer.from([0x00]), props])) },
  pubrel: { kind: 'pubrel', afterConnect: true, build: (props) => packet(0x62, Buffer.concat([u16(23), Buffer.from([0x00]), props])) },
  pubcomp: { kind: 'pubcomp', afterConnect: true, build: (props) => packet(0x70, Buffer.concat([u16(24), Buffer.from([0x00]), props])) },
  subscribe: { kind: 'subscribe', afterConnect: true, build: (props) => packet(0x82, Buffer.concat([u16(31), props, str('fz/s/#'), Buffer.from([0x01]), str('$share/g/fz/s/+'), Buffer.from([0x02])])) },
  unsubscribe: { kind: 'unsubscribe', afterConnect: true, build: (props) => packet(0xa2, Buffer.concat([u16(32), props, str('fz/s/#')])) },
  disconnect: { kind: 'disconnect', afterConnect: true, build: (props) => packet(0xe0, Buffer.concat([Buffer.from([0x00]), props])) },
  pingreq: { kind: 'pingreq', afterConnect: true, build: () => Buffer.from([0xc0, 0x00]) },
  // A client sending AUTH without having started enhanced authentication is a Protocol Error (§4.12).
  auth: { kind: 'auth', afterConnect: true, build: (props) => packet(0xf0, Buffer.concat([Buffer.from([0x18]), props])) },
  // Server-to-client packets sent by a client: never valid.
  connack: { kind: 'connack', afterConnect: true, build: (props) => packet(0x20, Buffer.concat([Buffer.from([0x00, 0x00]), props])) },
  suback: { kind: 'suback', afterConnect: true, build: (props) => packet(0x90, Buffer.concat([u16(33), props, Buffer.from([0x01])])) },
  unsuback: { kind: 'unsuback', afterConnect: true, build: (props) => packet(0xb0, Buffer.concat([u16(34), props, Buffer.from([0x00])])) },
  pingresp: { kind: 'pingresp', afterConnect: true, build: () => Buffer.from([0xd0, 0x00]) }
}

/** MQTT 3.1.1 packets (no properties); CONNECTs take the client id (unique per case, so no case takes over another). */
export const V4_PACKETS: Record<string, { afterConnect: boolean, bytes: Buffer | ((clientId: string) => Buffer) }> = {
  connect: { afterConnect: false, bytes: (id) => packet(0x10, Buffer.concat([str('MQTT'), Buffer.from([4, 0x02]), u16(2), str(id)])) },
  'connect-will-user': { afterConnect: false, bytes: (id) => packet(0x10, Buffer.concat([str('MQTT'), Buffer.from([4, 0xce]), u16(2), str(id), str('fz/w'), str('bye'), str('user'), str('pass')])) },
  'connect-31': { afterConnect: false, bytes: (id) => packet(0x10, Buffer.concat([str('MQIsdp'), Buffer.from([3, 0x02]), u16(2), str(id.slice(0, 23))])) },
  publish: { afterConnect: true, bytes: packet(0x33, Buffer.concat([str('fz/4'), u16(5), Buffer.from('hello')])) },
  puback: { afterConnect: true, bytes: packet(0x40, u16(5)) },
  pubrec: { afterConnect: true, bytes: packet(0x50, u16(5)) },
  pubrel: { afterConnect: true, bytes: packet(0x62, u16(5)) },
  pubcomp: { afterConnect: true, bytes: packet(0x70, u16(5)) },
  subscribe: { afterConnect: true, bytes: packet(0x82, Buffer.concat([u16(6), str('fz/#'), Buffer.from([2]), str('fz/+'), Buffer.from([1])])) },
  unsubscribe: { afterConnect: true, bytes: packet(0xa2, Buffer.concat([u16(7), str('fz/#')])) },
  pingreq: { afterConnect: true, bytes: Buffer.from([0xc0, 0x00]) },
  disconnect: { afterConnect: true, bytes: Buffer.from([0xe0, 0x00]) }
}

/** The CONNECT a non-CONNECT case is sent after: keepalive 2 s so a connection left waiting is closed by keepalive. */
export const connectPrefix = (v: 4 | 5, clientId: string): Buffer => v === 5
  ? packet(0x10, Buffer.concat([str('MQTT'), Buffer.from([5, 0x02]), u16(2), propertyBlock([encodeProperty(0x11, 0)]), str(clientId)]))
  : packet(0x10, Buffer.concat([str('MQTT'), Buffer.from([4, 0x02]), u16(2), str(clientId)]))
