// The on-disk form of one queued outbound message. Binary, versioned, small:
// disk bytes per queued message are a figure users compare (mosquitto keeps
// its bridge queue in RAM; edgemq keeps it on the SD card).
//
//   off  len  field
//   0    1    version (1)
//   1    1    flags: bits 0-1 QoS, bit 2 retain; bits 3-7 must be 0
//   2    8    enqueued at, wall clock ms (float64 BE; survives a restart)
//   10   2    topic length n (uint16 BE)
//   12   n    upstream topic (UTF-8), already rewritten by the topic rule
//   12+n ...  payload (sealed already when the topic is sealed)
import { EdgemqError, ERROR_CODES } from '../errors.ts'

/** One message waiting to go upstream. */
export interface QueuedMessage {
  /** Upstream topic. */
  topic: string
  payload: Buffer
  qos: 0 | 1 | 2
  retain: boolean
  /** Wall-clock ms when it was queued. */
  enqueuedAt: number
}

const VERSION = 1
const HEADER = 12

/** Encodes a queued message to its on-disk bytes. */
export function encodeQueueRecord (msg: QueuedMessage): Buffer {
  const topic = Buffer.from(msg.topic, 'utf8')
  if (topic.length > 0xffff) throw new EdgemqError(ERROR_CODES.BRIDGE_FAILED, `bridge topic is ${topic.length} bytes: MQTT topics are at most 65535 bytes`)
  const out = Buffer.allocUnsafe(HEADER + topic.length + msg.payload.length)
  out[0] = VERSION
  out[1] = (msg.qos & 0x03) | (msg.retain ? 0x04 : 0)
  out.writeDoubleBE(msg.enqueuedAt, 2)
  out.writeUInt16BE(topic.length, 10)
  topic.copy(out, HEADER)
  msg.payload.copy(out, HEADER + topic.length)
  return out
}

/** Decodes on-disk bytes; throws EDGEMQ_ERR_PERSISTENCE_CORRUPT when they are not a record. */
export function decodeQueueRecord (bytes: Uint8Array): QueuedMessage {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const corrupt = (why: string): EdgemqError => new EdgemqError(ERROR_CODES.PERSISTENCE_CORRUPT, `bridge queue record is corrupt: ${why} (it is skipped)`)
  if (buf.length < HEADER) throw corrupt(`${buf.length} bytes, shorter than the 12-byte header`)
  if (buf[0] !== VERSION) throw corrupt(`version ${buf[0]}, expected ${VERSION}`)
  const flags = buf[1]
  if ((flags & 0xf8) !== 0 || (flags & 0x03) === 3) throw corrupt(`flags 0x${flags.toString(16)}`)
  const topicLength = buf.readUInt16BE(10)
  if (HEADER + topicLength > buf.length) throw corrupt(`topic length ${topicLength} runs past the ${buf.length}-byte record`)
  return {
    qos: (flags & 0x03) as 0 | 1 | 2,
    retain: (flags & 0x04) !== 0,
    enqueuedAt: buf.readDoubleBE(2),
    topic: buf.toString('utf8', HEADER, HEADER + topicLength),
    payload: buf.subarray(HEADER + topicLength)
  }
}
