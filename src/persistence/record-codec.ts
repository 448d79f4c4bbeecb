// Compact binary records for everything the persistence stores. No JSON on the
// hot path: a QoS 1 message is a small header, its topic and its payload, so an
// offline queue of 100k messages decodes without 100k JSON.parse calls (the
// cost that makes aedes-persistence-level drain 38x slower than Mosquitto).
//
// Every record starts with a tag byte and a CRC-32 of the rest: LevelDB does
// not verify block checksums on reads by default, so a bit flipped on an SD
// card would otherwise reach a client as a silently different message.
import { crc32 } from './crc32.ts'

/** A packet as aedes hands it to persistence (plain fields, any extras). */
export type StoredPacket = Record<string, unknown>

/** A subscription as aedes stores it per client. */
export interface SubscriptionRecord {
  qos: number
  rh: number | undefined
  rap: boolean | undefined
  nl: boolean | undefined
  subscriptionIdentifier?: number
}

/** Thrown when a stored value cannot be decoded (quarantined by the caller). */
export class RecordCorruptError extends Error {
  constructor (reason: string) {
    super(reason)
    this.name = 'RecordCorruptError'
  }
}

/** Tag bytes: the kind of record and its layout version. */
export const RECORD_TAGS = { PACKET: 0x50, SUBSCRIPTION: 0x53, OUTGOING_STATE: 0x55 } as const

// Known packet fields, in encoding order. Anything else goes to a JSON "extra"
// section (rare: v5 properties, retained `id` fields from API publishes).
const FIELDS = ['cmd', 'brokerId', 'brokerCounter', 'topic', 'qos', 'retain', 'dup', 'messageId', 'clientId', 'nl', 'messageExpiry', 'properties', 'payload'] as const
type Field = typeof FIELDS[number]
const BIT: Record<Field, number> = Object.fromEntries(FIELDS.map((f, i) => [f, 1 << i])) as Record<Field, number>
const CMD_CODES = ['publish', 'pubrel'] as const
const HEADER = 9 // tag(1) crc(4) present(2) undef(2)

/** Encodes a packet into one binary record (header + fields + payload last). */
export function encodePacket (packet: StoredPacket): Buffer {
  // pass 1: which fields, how many bytes (no closures, one allocation: this runs per message)
  let present = 0
  let undef = 0
  let extra: Record<string, unknown> | undefined
  for (const key in packet) {
    if (!Object.prototype.hasOwnProperty.call(packet, key)) continue
    const value = packet[key]
    const bit = BIT[key as Field]
    if (bit === undefined) {
      if (key === 'length' || typeof value === 'function') continue // wire length and writeCallback are not state
      if (value !== undefined) (extra ??= {})[key] = value
      continue
    }
    if (value === undefined) { present |= bit; undef |= bit; continue }
    if (!fieldFits(key as Field, value)) { (extra ??= {})[key] = value; continue }
    present |= bit
  }
  const defined = present & ~undef
  // strings are measured here and written straight into the record in pass 2 (no Buffer per string: ~260 B of garbage per message)
  const brokerId = (defined & BIT.brokerId) !== 0 ? Buffer.byteLength(packet.brokerId as string, 'utf8') : -1
  const topic = (defined & BIT.topic) !== 0 ? Buffer.byteLength(packet.topic as string, 'utf8') : -1
  const clientId = (defined & BIT.clientId) !== 0 ? Buffer.byteLength(packet.clientId as string, 'utf8') : -1
  const properties = (defined & BIT.properties) !== 0 ? Buffer.from(JSON.stringify(packet.properties, jsonReplacer), 'utf8') : undefined
  const extraJson = extra !== undefined ? Buffer.from(JSON.stringify(extra, jsonReplacer), 'utf8') : undefined
  let payload: Uint8Array | undefined
  let payloadIsString = false
  if ((defined & BIT.payload) !== 0) {
    const value = packet.payload
    payloadIsString = typeof value === 'string'
    payload = payloadIsString ? Buffer.from(value as string, 'utf8') : value as Uint8Array
  }
  let size = HEADER + 4 + 1 // header, extra length, payload kind
  if ((defined & BIT.cmd) !== 0) size += 1
  if (brokerId >= 0) size += 2 + brokerId
  if ((defined & BIT.brokerCounter) !== 0) size += 8
  if (topic >= 0) size += 2 + topic
  if ((defined & BIT.qos) !== 0) size += 1
  if ((defined & BIT.retain) !== 0) size += 1
  if ((defined & BIT.dup) !== 0) size += 1
  if ((defined & BIT.messageId) !== 0) size += 4
  if (clientId >= 0) size += 2 + clientId
  if ((defined & BIT.nl) !== 0) size += 1
  if ((defined & BIT.messageExpiry) !== 0) size += 8
  if (properties !== undefined) size += 4 + properties.length
  if (extraJson !== undefined) size += extraJson.length
  if (payload !== undefined) size += payload.byteLength

  // pass 2: write, in FIELDS order
  const out = Buffer.allocUnsafe(size)
  out[0] = RECORD_TAGS.PACKET
  out.writeUInt16BE(present, 5)
  out.writeUInt16BE(undef, 7)
  let off = HEADER
  if ((defined & BIT.cmd) !== 0) out[off++] = CMD_CODES.indexOf(packet.cmd as typeof CMD_CODES[number])
  if (brokerId >= 0) off = writeShortString(out, off, packet.brokerId as string, brokerId)
  if ((defined & BIT.brokerCounter) !== 0) off = out.writeDoubleBE(packet.brokerCounter as number, off)
  if (topic >= 0) off = writeShortString(out, off, packet.topic as string, topic)
  if ((defined & BIT.qos) !== 0) out[off++] = packet.qos as number
  if ((defined & BIT.retain) !== 0) out[off++] = packet.retain === true ? 1 : 0
  if ((defined & BIT.dup) !== 0) out[off++] = packet.dup === true ? 1 : 0
  if ((defined & BIT.messageId) !== 0) off = out.writeUInt32BE(packet.messageId as number, off)
  if (clientId >= 0) off = writeShortString(out, off, packet.clientId as string, clientId)
  if ((defined & BIT.nl) !== 0) out[off++] = packet.nl === true ? 1 : 0
  if ((defined & BIT.messageExpiry) !== 0) off = out.writeDoubleBE(packet.messageExpiry as number, off)
  if (properties !== undefined) { off = out.writeUInt32BE(properties.length, off); off += properties.copy(out, off) }
  off = out.writeUInt32BE(extraJson?.length ?? 0, off)
  if (extraJson !== undefined) off += extraJson.copy(out, off)
  out[off++] = payloadIsString ? 1 : 0
  if (payload !== undefined) out.set(payload, off)
  out.writeUInt32BE(crc32(out.subarray(5)), 1)
  return out
}

// A string with a 2-byte length (fieldFits sent longer ones to the JSON section); `bytes`: its UTF-8 length.
function writeShortString (out: Buffer, off: number, s: string, bytes: number): number {
  off = out.writeUInt16BE(bytes, off)
  return off + out.write(s, off, bytes, 'utf8')
}

/** Decodes a packet record; throws RecordCorruptError on any damage. */
export function decodePacket (buf: Buffer): StoredPacket {
  checkEnvelope(buf, RECORD_TAGS.PACKET, HEADER)
  const present = buf.readUInt16BE(5)
  const undef = buf.readUInt16BE(7)
  const out: StoredPacket = {}
  const cur = { buf, off: HEADER }
  try {
    for (const field of FIELDS) {
      const bit = BIT[field]
      if ((present & bit) === 0) continue
      if ((undef & bit) !== 0) { out[field] = undefined; continue }
      switch (field) {
        case 'cmd': { need(cur, 1); const c = CMD_CODES[buf[cur.off++]]; if (c === undefined) throw new RecordCorruptError('unknown cmd code'); out.cmd = c; break }
        case 'brokerId': case 'topic': case 'clientId': out[field] = readShortString(cur); break
        case 'brokerCounter': case 'messageExpiry': need(cur, 8); out[field] = buf.readDoubleBE(cur.off); cur.off += 8; break
        case 'qos': need(cur, 1); out.qos = buf[cur.off++]; break
        case 'retain': case 'dup': case 'nl': need(cur, 1); out[field] = buf[cur.off++] === 1; break
        case 'messageId': need(cur, 4); out.messageId = buf.readUInt32BE(cur.off); cur.off += 4; break
        case 'properties': out.properties = readJson(cur); break
        case 'payload': break // last, below
      }
    }
    const extra = readJson(cur)
    if (extra !== undefined) Object.assign(out, extra)
    need(cur, 1)
    const payloadIsString = buf[cur.off++] === 1
    if ((present & BIT.payload) !== 0 && (undef & BIT.payload) === 0) {
      out.payload = payloadIsString ? buf.toString('utf8', cur.off) : buf.subarray(cur.off)
    } else if (cur.off !== buf.length) {
      throw new RecordCorruptError('trailing bytes after record')
    }
  } catch (err) {
    if (err instanceof RecordCorruptError) throw err
    throw new RecordCorruptError(`undecodable record: ${(err as Error).message}`)
  }
  return out
}

interface Cursor { buf: Buffer, off: number }

function need (cur: Cursor, n: number): void {
  if (cur.off + n > cur.buf.length) throw new RecordCorruptError('record truncated')
}

function readShortString (cur: Cursor): string {
  need(cur, 2)
  const n = cur.buf.readUInt16BE(cur.off)
  cur.off += 2
  need(cur, n)
  const s = cur.buf.toString('utf8', cur.off, cur.off + n)
  cur.off += n
  return s
}

function readJson (cur: Cursor): unknown {
  need(cur, 4)
  const n = cur.buf.readUInt32BE(cur.off)
  cur.off += 4
  need(cur, n)
  const s = cur.buf.toString('utf8', cur.off, cur.off + n)
  cur.off += n
  return n === 0 ? undefined : JSON.parse(s, jsonReviver)
}

/** Encodes one subscription of a client. */
export function encodeSubscription (sub: SubscriptionRecord): Buffer {
  const out = Buffer.allocUnsafe(13)
  out[0] = RECORD_TAGS.SUBSCRIPTION
  out[5] = sub.qos
  out[6] = typeof sub.rh === 'number' ? sub.rh : 0xff
  out[7] = triState(sub.rap)
  out[8] = triState(sub.nl)
  out.writeUInt32BE(sub.subscriptionIdentifier ?? 0, 9)
  out.writeUInt32BE(crc32(out.subarray(5)), 1)
  return out
}

/** Decodes a subscription record; throws RecordCorruptError on damage. */
export function decodeSubscription (buf: Buffer): SubscriptionRecord {
  checkEnvelope(buf, RECORD_TAGS.SUBSCRIPTION, 13)
  if (buf.length !== 13 || buf[5] > 2) throw new RecordCorruptError('bad subscription record')
  const rec: SubscriptionRecord = { qos: buf[5], rh: buf[6] === 0xff ? undefined : buf[6], rap: fromTriState(buf[7]), nl: fromTriState(buf[8]) }
  const si = buf.readUInt32BE(9)
  if (si !== 0) rec.subscriptionIdentifier = si
  return rec
}

/** State of a queued message once aedes gave it a packet id: still a PUBLISH, or PUBREL sent. */
export interface OutgoingState { pubrel: boolean, messageId: number }

/** Encodes the small per-message state record (packet id; PUBREL phase). */
export function encodeOutgoingState (state: OutgoingState): Buffer {
  const out = Buffer.allocUnsafe(10)
  out[0] = RECORD_TAGS.OUTGOING_STATE
  out[5] = state.pubrel ? 1 : 0
  out.writeUInt32BE(state.messageId, 6)
  out.writeUInt32BE(crc32(out.subarray(5)), 1)
  return out
}

/** Decodes an outgoing-state record; throws RecordCorruptError on damage. */
export function decodeOutgoingState (buf: Buffer): OutgoingState {
  checkEnvelope(buf, RECORD_TAGS.OUTGOING_STATE, 10)
  if (buf.length !== 10 || buf[5] > 1) throw new RecordCorruptError('bad outgoing state record')
  return { pubrel: buf[5] === 1, messageId: buf.readUInt32BE(6) }
}

/** Whether a decoded publish is one aedes can route (aedes #780: undefined/null topics crash it). */
export function isRoutablePublish (p: StoredPacket): boolean {
  if (p.cmd !== undefined && p.cmd !== 'publish') return true
  return typeof p.topic === 'string' && p.topic.length > 0 && !p.topic.includes('#') && !p.topic.includes('+') &&
    (p.payload === undefined || typeof p.payload === 'string' || Buffer.isBuffer(p.payload)) &&
    (p.qos === undefined || p.qos === 0 || p.qos === 1 || p.qos === 2)
}

function checkEnvelope (buf: Buffer, tag: number, minLength: number): void {
  if (buf.length < minLength) throw new RecordCorruptError(`record truncated (${buf.length} bytes)`)
  if (buf[0] !== tag) throw new RecordCorruptError(`unexpected record tag 0x${buf[0].toString(16)}`)
  if (buf.readUInt32BE(1) !== crc32(buf.subarray(5))) throw new RecordCorruptError('checksum mismatch')
}

function fieldFits (field: Field, value: unknown): boolean {
  switch (field) {
    case 'cmd': return CMD_CODES.includes(value as typeof CMD_CODES[number])
    // a UTF-16 unit is at most 3 UTF-8 bytes: a string of up to 21,845 units fits without measuring it (encodePacket measures it once)
    case 'brokerId': case 'topic': case 'clientId': return typeof value === 'string' && (value.length <= 0x5555 || Buffer.byteLength(value) <= 0xffff)
    case 'brokerCounter': case 'messageExpiry': return typeof value === 'number'
    case 'qos': return value === 0 || value === 1 || value === 2
    case 'retain': case 'dup': case 'nl': return typeof value === 'boolean'
    case 'messageId': return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0xffffffff
    case 'properties': return typeof value === 'object' && value !== null
    case 'payload': return typeof value === 'string' || value instanceof Uint8Array
  }
}

function triState (v: boolean | undefined): number { return v === undefined ? 2 : v ? 1 : 0 }
function fromTriState (n: number): boolean | undefined { return n === 2 ? undefined : n === 1 }

// Buffers inside v5 properties (correlationData) survive the JSON section.
function jsonReplacer (this: unknown, _key: string, value: unknown): unknown {
  if (value !== null && typeof value === 'object' && (value as { type?: unknown }).type === 'Buffer' && Array.isArray((value as { data?: unknown }).data)) {
    return { $b64: Buffer.from((value as { data: number[] }).data).toString('base64') }
  }
  if (value instanceof Uint8Array) return { $b64: Buffer.from(value).toString('base64') }
  return value
}

function jsonReviver (_key: string, value: unknown): unknown {
  if (value !== null && typeof value === 'object' && typeof (value as { $b64?: unknown }).$b64 === 'string' && Object.keys(value).length === 1) {
    return Buffer.from((value as { $b64: string }).$b64, 'base64')
  }
  return value
}
