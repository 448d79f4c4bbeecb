// MQTT 3.1.1 on the wire, for the load generator. The set-up packets (CONNECT,
// SUBSCRIBE) come from mqtt-packet; the hot path (PUBLISH, PUBACK, framing) is
// encoded and scanned by hand so the load generator spends its core on bytes,
// not on objects: one Node process must out-run a C broker on the other core.
import mqttPacket from 'mqtt-packet'

/** Control packet types (the high nibble of the fixed header), [MQTT-2.2.1]. */
export const PACKET = {
  CONNECT: 1,
  CONNACK: 2,
  PUBLISH: 3,
  PUBACK: 4,
  SUBSCRIBE: 8,
  SUBACK: 9,
  DISCONNECT: 14
} as const

/** DISCONNECT has no variable header or payload, [MQTT-3.14]. */
export const DISCONNECT_BYTES = Buffer.from([0xe0, 0x00])

/** Encodes a v3.1.1 CONNECT with the session flag and keepalive the scenario wants. */
export function encodeConnect (clientId: string, clean: boolean, keepalive: number): Buffer {
  return mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId, clean, keepalive })
}

/** Encodes a SUBSCRIBE for one topic filter. */
export function encodeSubscribe (messageId: number, topic: string, qos: 0 | 1): Buffer {
  return mqttPacket.generate({ cmd: 'subscribe', messageId, subscriptions: [{ topic, qos }] })
}

/** Bytes taken by a remaining-length varint, [MQTT-2.2.3]. */
function varintLength (n: number): number {
  return n < 128 ? 1 : n < 16_384 ? 2 : n < 2_097_152 ? 3 : 4
}

/** Encodes a PUBLISH; for QoS 1 the packet id sits at `packetIdOffset` so copies can be renumbered. */
export function encodePublish (topic: string, payload: Buffer, qos: 0 | 1, messageId = 1): { bytes: Buffer, packetIdOffset: number, payloadOffset: number } {
  const topicBytes = Buffer.from(topic)
  const remaining = 2 + topicBytes.length + (qos > 0 ? 2 : 0) + payload.length
  const bytes = Buffer.alloc(1 + varintLength(remaining) + remaining)
  let pos = 0
  bytes[pos++] = 0x30 | (qos << 1)
  let n = remaining
  do {
    let digit = n % 128
    n = Math.floor(n / 128)
    if (n > 0) digit |= 0x80
    bytes[pos++] = digit
  } while (n > 0)
  bytes.writeUInt16BE(topicBytes.length, pos)
  pos += 2
  topicBytes.copy(bytes, pos)
  pos += topicBytes.length
  const packetIdOffset = qos > 0 ? pos : -1
  if (qos > 0) {
    bytes.writeUInt16BE(messageId, pos)
    pos += 2
  }
  payload.copy(bytes, pos)
  return { bytes, packetIdOffset, payloadOffset: pos }
}

/** Appends a PUBACK for `messageId` into `out` at `offset`; returns the next offset. */
export function writePuback (out: Buffer, offset: number, messageId: number): number {
  out[offset] = 0x40
  out[offset + 1] = 0x02
  out.writeUInt16BE(messageId, offset + 2)
  return offset + 4
}

/** Writes one PUBACK per id in `acks` to `socket` in one write, then empties `acks` (a load client's acks of one read). */
export function flushPubacks (socket: { write: (data: Buffer) => unknown }, acks: number[]): void {
  if (acks.length === 0) return
  const out = Buffer.allocUnsafe(acks.length * 4)
  let offset = 0
  for (const id of acks) offset = writePuback(out, offset, id)
  acks.length = 0
  socket.write(out)
}

/** Where the parts of a received PUBLISH body start (`start` is the first byte after the fixed header). */
export function publishLayout (buf: Buffer, flags: number, start: number): { packetId: number, payloadStart: number } {
  const topicLength = buf.readUInt16BE(start)
  const afterTopic = start + 2 + topicLength
  if ((flags & 0x06) === 0) return { packetId: 0, payloadStart: afterTopic }
  return { packetId: buf.readUInt16BE(afterTopic), payloadStart: afterTopic + 2 }
}

/** Called once per complete packet: type, flags, and the body as buf[start, end). */
export type FrameHandler = (type: number, flags: number, buf: Buffer, start: number, end: number) => void

/**
 * Splits a byte stream into MQTT packets without copying them, keeping only an
 * incomplete tail between chunks. The handler must not keep `buf` past the call.
 */
export class FrameReader {
  private tail: Buffer | undefined

  /** Feeds one chunk; calls `onFrame` for every packet it completes. */
  feed (chunk: Buffer, onFrame: FrameHandler): void {
    const buf = this.tail === undefined ? chunk : Buffer.concat([this.tail, chunk])
    this.tail = undefined
    const length = buf.length
    let pos = 0
    while (length - pos >= 2) {
      let value = 0
      let multiplier = 1
      let i = pos + 1
      let complete = false
      for (let digits = 0; digits < 4 && i < length; digits++) {
        const byte = buf[i++]
        value += (byte & 0x7f) * multiplier
        multiplier *= 128
        if ((byte & 0x80) === 0) { complete = true; break }
      }
      if (!complete) {
        if (i - pos - 1 >= 4) throw new Error(`malformed remaining length at byte ${pos}: more than 4 digits [MQTT-2.2.3]`)
        break
      }
      const end = i + value
      if (end > length) break
      onFrame(buf[pos] >> 4, buf[pos] & 0x0f, buf, i, end)
      pos = end
    }
    if (pos < length) this.tail = buf.subarray(pos)
  }
}
