// Override: the reason code of a refused QoS 1/2 PUBLISH from an MQTT 5 client.
//
// What aedes does: when authorizePublish fails for a v5 client, its publish
// handler (lib/handlers/publish.js, authorizePublish) answers PUBACK/PUBREC
// with 0x87 Not authorized, whatever the reason, and writes it through
// lib/write.js -> mqtt-packet's writeToStream(packet, client.conn, opts).
//
// What edgemq does instead: a publish refused because a subscriber's offline
// queue is full (limits.queueFullPolicy: refuse-new) is answered with 0x97
// Quota exceeded (MQTT 5.0 §3.4.2.1), so the publisher knows to slow down or
// keep the message, rather than reading "not authorized". The refusal marks
// the connection's stream with the packet id; the wrapped writeToStream turns
// that one 0x87 into 0x97 as it is written.
//
// Why here: it reaches into aedes's write path (client.conn) and mqtt-packet's
// writeToStream. Canary: test/engine/quota-exceeded-ack.test.ts fails when the
// pinned aedes stops answering with NOT_AUTHORIZED through writeToStream on client.conn.

const MARK = Symbol('edgemq.quotaExceededIds')
const INSTALLED = Symbol('edgemq.quotaAckInstalled')
const NOT_AUTHORIZED = 0x87
const QUOTA_EXCEEDED = 0x97

type WriteToStream = (packet: unknown, stream: unknown, opts?: unknown) => boolean

/** Marks the next refusal of `messageId` on this client's connection to be answered with 0x97. */
export function markQuotaExceeded (client: unknown, messageId: unknown): void {
  const conn = (client as { conn?: Record<symbol, Set<number>> } | null)?.conn
  if (conn === undefined || conn === null || typeof messageId !== 'number') return
  ;(conn[MARK] ??= new Set<number>()).add(messageId)
}

/** Wraps mqtt-packet's writeToStream (idempotent); call once at start. */
export function installQuotaExceededAck (mqttPacket: { writeToStream: WriteToStream }): void {
  const current = mqttPacket.writeToStream as WriteToStream & { [INSTALLED]?: true }
  if (current[INSTALLED] === true) return
  const wrapped = function writeToStream (packet: unknown, stream: unknown, opts?: unknown): boolean {
    const p = packet as { cmd?: string, messageId?: number, reasonCode?: number } | null
    if (p !== null && typeof p === 'object' && p.reasonCode === NOT_AUTHORIZED && (p.cmd === 'puback' || p.cmd === 'pubrec') && typeof p.messageId === 'number') {
      const ids = (stream as Record<symbol, Set<number>> | null)?.[MARK]
      if (ids?.delete(p.messageId) === true) p.reasonCode = QUOTA_EXCEEDED
    }
    return current(packet, stream, opts)
  }
  Object.defineProperty(wrapped, INSTALLED, { value: true })
  Object.setPrototypeOf(wrapped, current)
  mqttPacket.writeToStream = wrapped
}
