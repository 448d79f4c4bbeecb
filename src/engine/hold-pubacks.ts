// Override: when aedes's QoS 1 PUBACK leaves, for a message stored before it is acknowledged.
//
// What aedes does (2.0.0-beta.1): lib/handlers/publish.js (enqueuePublish,
//   case 1) writes the PUBACK through lib/write.js (mqtt-packet's
//   writeToStream) and only in that write's callback calls broker.publish,
//   which stores the message in the offline queues (outgoingEnqueueCombi) and
//   routes it; the `published` hook is the last step of that pipeline
//   (aedes.js callPublished). A crash between the two loses an acknowledged
//   message.
// What edgemq did: it journals the message before the PUBACK
//   (src/persistence/incoming-journal.ts) and deletes the entry with the queue
//   write: the payload went to LevelDB twice, three log records per message
//   (issue 11: 317 bytes per 64-byte message against Mosquitto's 169, and the
//   enqueue at 0.26x Mosquitto's rate).
// What edgemq does instead, for a QoS 1 message whose persistent subscribers
//   are all away (the store decides, LevelPersistence.ackAfterStore): no
//   journal; the PUBACK aedes writes is held here, the write reports success
//   at once so aedes goes on to broker.publish, and the `published` hook
//   releases it once the queue write has landed (Mosquitto's order: stored,
//   then acknowledged). A crash before that sends no PUBACK, and the publisher
//   sends the message again [MQTT-4.3.2-1 at least once]. A queue write that
//   fails (a full disk) is not acknowledged: a v5 publisher gets PUBACK 0x80
//   (unspecified error) at that place in its line; a 3.1.1 one, which has no
//   negative PUBACK, has its connection closed there (it sends the message
//   again when it reconnects), as aedes closes it for a failed journal write.
// Order: PUBACKs go out in the order their PUBLISHes came, as Mosquitto sends
//   them (MQTT states the rule for clients [MQTT-4.6.0-2]; a publisher that
//   counts its acknowledgements in order must not see a held one overtaken).
//   While a connection has a PUBACK expected or held, every later PUBACK of
//   that connection (a journaled message's, or one of a message nobody
//   stores) waits behind it in its line; one the line does not expect (a
//   refusal) joins at the end. Before, a message nobody stores was
//   acknowledged ahead of an earlier journaled one.
// Canary: test/engine/hold-pubacks.test.ts (aedes writes a QoS 1 PUBACK
//   through mqtt-packet's writeToStream before it calls broker.publish, and
//   calls `published` after the store's enqueue resolved).

import { REASON } from '../reason-codes.ts'

type WriteToStream = (packet: unknown, stream: unknown, opts?: { protocolVersion?: number }) => boolean

interface Slot {
  messageId: number | undefined
  /** The PUBACK may go (its message is stored, or needs nothing stored). */
  ready: boolean
  /** Its message could not be stored: no positive PUBACK. */
  failed?: boolean
  /** The PUBACK aedes wrote, held until the slots before it and this one are ready. */
  held?: { packet: unknown, opts: { protocolVersion?: number } | undefined }
}

interface Line { stream: StreamLike, slots: Slot[] }

interface StreamLike { destroyed?: boolean, writable?: boolean, destroy?: () => void }

const INSTALLED = Symbol.for('edgemq.holdPubacks')

/** Lines of connections with a PUBACK expected or held. */
const lines = new WeakMap<object, Line>()
/** The slot of a message whose PUBACK waits for its store, by its payload (the object aedes's Packet copy keeps). */
const waitingFor = new WeakMap<object, { line: Line, slot: Slot }>()
let active = 0
let next: WriteToStream | undefined

/** Whether the connection has PUBACKs expected or held (a new QoS 1 PUBACK must then queue behind them). */
export function pubackLineBusy (stream: object): boolean {
  return active > 0 && lines.has(stream)
}

/**
 * Expects the PUBACK of a QoS 1 PUBLISH on `stream`, in arrival order.
 * `stored` true: it is held until releasePuback(payload) (the message's store
 * has landed); false: it only keeps its place behind earlier held ones.
 */
export function expectPuback (stream: object, messageId: number | undefined, payload: unknown, stored: boolean): void {
  let line = lines.get(stream)
  if (line === undefined) {
    line = { stream: stream as StreamLike, slots: [] }
    lines.set(stream, line)
    active++
  }
  const slot: Slot = { messageId, ready: !stored }
  line.slots.push(slot)
  if (stored && typeof payload === 'object' && payload !== null) waitingFor.set(payload, { line, slot })
  else slot.ready = true // nothing to wait for: a message without a payload object is never held
}

/** Whether any PUBACK is expected or held (the `published` hook skips its lookups otherwise). */
export function pubacksWaiting (): boolean {
  return active > 0
}

/**
 * The message with this payload went through aedes's publish pipeline (the
 * `published` hook): its PUBACK may go once those before it have; `failed`:
 * its queue write failed, so it is not acknowledged (see the header).
 */
export function releasePuback (payload: unknown, failed = false): void {
  if (active === 0 || typeof payload !== 'object' || payload === null) return
  const w = waitingFor.get(payload)
  if (w === undefined) return
  waitingFor.delete(payload)
  w.slot.ready = true
  if (failed) w.slot.failed = true
  flush(w.line)
}

function flush (line: Line): void {
  const slots = line.slots
  while (slots.length > 0 && slots[0].ready && slots[0].held !== undefined) {
    const slot = slots.shift()!
    const { packet, opts } = slot.held!
    // a connection closed meanwhile: nothing to tell it (aedes closed the client)
    if (line.stream.destroyed === true || line.stream.writable === false) continue
    if (slot.failed !== true) next!(packet, line.stream, opts)
    else if (opts?.protocolVersion === 5) next!({ ...(packet as object), reasonCode: REASON.UNSPECIFIED_ERROR }, line.stream, opts)
    else line.stream.destroy?.() // 3.1.1: no negative PUBACK; the publisher resends after it reconnects
  }
  if (slots.length === 0 && lines.get(line.stream) === line) {
    lines.delete(line.stream)
    active--
  }
}

/** Routes mqtt-packet's writeToStream through the PUBACK lines (aedes's write() calls it for every packet). Idempotent. */
export function installHoldPubacks (mqttPacket: { writeToStream: WriteToStream }): void {
  if ((mqttPacket.writeToStream as unknown as { [INSTALLED]?: boolean })[INSTALLED] === true) return
  const original = mqttPacket.writeToStream
  next = original
  const held = function writeToStream (packet: unknown, stream: unknown, opts?: { protocolVersion?: number }): boolean {
    if (active === 0 || (packet as { cmd?: unknown } | null)?.cmd !== 'puback' || typeof stream !== 'object' || stream === null) return original(packet, stream, opts)
    const line = lines.get(stream)
    if (line === undefined) return original(packet, stream, opts)
    const messageId = (packet as { messageId?: number }).messageId
    let slot = line.slots.find((s) => s.held === undefined && s.messageId === messageId)
    if (slot === undefined) { slot = { messageId, ready: true }; line.slots.push(slot) } // not expected (a refusal): after the rest
    slot.held = { packet, opts }
    flush(line)
    return true // aedes goes on (broker.publish) as if it had been written
  }
  Object.defineProperty(held, INSTALLED, { value: true })
  Object.setPrototypeOf(held, original)
  mqttPacket.writeToStream = held
}
