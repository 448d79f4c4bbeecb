// One-buffer encoding of MQTT 3.1/3.1.1 PUBLISH and acknowledgement packets,
// byte-identical to mqtt-packet's writeToStream, with a shared buffer for
// fan-out. mqtt-packet writes a PUBLISH as five small chunks (header, length,
// topic length, topic, payload) plus a debug() call per chunk, and encodes the
// same message again for every subscriber. Profiles of the fan-out benchmark
// (1 publisher, 200 subscribers) put 35 % of the broker's CPU under
// mqtt-packet's uncork → writev. Here a QoS 0 message is encoded once and the
// same Buffer goes to every subscriber; QoS 1/2 deliveries (each with its own
// packet id) are one allocation and one chunk each. MQTT 5 packets (properties)
// and anything unusual fall through to mqtt-packet unchanged. The encoder is
// plain code; src/engine/install-publish-encoder.ts puts it in mqtt-packet's place.

/** The fields of an mqtt-packet packet this encoder reads. */
export interface EncodablePacket {
  cmd: string
  topic?: unknown
  payload?: unknown
  qos?: number
  retain?: boolean
  dup?: boolean
  messageId?: number
}

// Above this a payload is not copied into the packet buffer: the header goes
// as one chunk and the payload as a second (copying 1 MB per subscriber costs
// more than one more chunk in the writev).
const COPY_LIMIT = 16 * 1024

// Longest remaining length MQTT can express (4 bytes of variable byte integer).
const MAX_REMAINING = 268_435_455

const ACK_HEADER: Record<string, number> = { puback: 0x40, pubrec: 0x50, pubrel: 0x62, pubcomp: 0x70 }

/** Encodes PUBLISH/acks into single Buffers; keeps the last QoS 0 message encoded for the next subscriber. */
export class PublishEncoder {
  // One-entry caches: a fan-out delivers one message to every subscriber in a
  // row, so the last message (and topic) is the one asked for next. One entry
  // bounds the memory held to one message.
  private lastPayload: Buffer | undefined
  private lastTopic: string | undefined
  private lastHeader = -1
  private lastEncoded: Buffer | undefined
  private topicText: string | undefined
  private topicBytes: Buffer | undefined
  /** QoS 0 deliveries served from the shared buffer (tests, stats). */
  sharedHits = 0

  /** The packet as one Buffer (or header + payload for big payloads), or undefined when mqtt-packet must encode it. */
  encode (packet: EncodablePacket): Buffer | [Buffer, Buffer] | undefined {
    const cmd = packet.cmd
    if (cmd === 'publish') return this.publish(packet)
    const ackHeader = ACK_HEADER[cmd]
    if (ackHeader !== undefined) return encodeAck(packet, ackHeader)
    return undefined
  }

  private publish (packet: EncodablePacket): Buffer | [Buffer, Buffer] | undefined {
    const topic = packet.topic
    const payload = packet.payload ?? EMPTY
    const qos = packet.qos ?? 0
    if (typeof topic !== 'string' || !Buffer.isBuffer(payload) || (qos !== 0 && qos !== 1 && qos !== 2)) return undefined
    const id = packet.messageId
    if (qos > 0 && (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > 0xffff)) return undefined
    // header byte as mqtt-packet's PUBLISH_HEADER[qos][dup][retain]
    const header = 0x30 | (packet.dup === true ? 0x08 : 0) | (qos << 1) | (packet.retain === true ? 1 : 0)
    if (qos === 0 && payload === this.lastPayload && topic === this.lastTopic && header === this.lastHeader && this.lastEncoded !== undefined) {
      this.sharedHits++
      return this.lastEncoded
    }
    const topicBytes = this.topicBuffer(topic)
    const remaining = 2 + topicBytes.length + (qos > 0 ? 2 : 0) + payload.length
    if (remaining > MAX_REMAINING) return undefined
    const lengthBytes = remaining < 128 ? 1 : remaining < 16_384 ? 2 : remaining < 2_097_152 ? 3 : 4
    const copy = payload.length <= COPY_LIMIT
    const head = Buffer.allocUnsafe(1 + lengthBytes + remaining - (copy ? 0 : payload.length))
    let pos = 0
    head[pos++] = header
    let n = remaining
    do {
      let byte = n % 128
      n = Math.floor(n / 128)
      if (n > 0) byte |= 0x80
      head[pos++] = byte
    } while (n > 0)
    head[pos++] = topicBytes.length >> 8
    head[pos++] = topicBytes.length & 0xff
    pos += topicBytes.copy(head, pos)
    if (qos > 0) {
      head[pos++] = (id as number) >> 8
      head[pos++] = (id as number) & 0xff
    }
    if (!copy) return [head, payload]
    payload.copy(head, pos)
    if (qos === 0) {
      this.lastPayload = payload
      this.lastTopic = topic
      this.lastHeader = header
      this.lastEncoded = head
    }
    return head
  }

  private topicBuffer (topic: string): Buffer {
    if (topic !== this.topicText || this.topicBytes === undefined) {
      this.topicText = topic
      this.topicBytes = Buffer.from(topic, 'utf8')
    }
    return this.topicBytes
  }
}

const EMPTY = Buffer.alloc(0)

function encodeAck (packet: EncodablePacket, header: number): Buffer | undefined {
  const id = packet.messageId
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > 0xffff) return undefined
  // No DUP bit, even on a resent PUBREL: its flags MUST be 0010 [MQTT-3.6.1-1]
  // (mqtt-packet 9 throws on a PUBREL with dup set).
  return Buffer.from([header, 2, id >> 8, id & 0xff])
}
