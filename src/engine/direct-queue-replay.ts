// Override: the queue replay of a reconnecting persistent session.
// What aedes 2.0.0-beta.1 does: its emptyQueue step (lib/handlers/connect.js)
//   pipes persistence.outgoingStream(client) through a Transform. For each
//   stored message it builds a QoSPacket (a copy, with a bound error callback
//   and the client's next packet id), awaits persistence.outgoingUpdate, asks
//   authorizeForward, and writes it (lib/write.js) or, for a Clean Start, an
//   expired message or a refused forward, clears it; the next message goes
//   once the write callback ran. edgemq's pace-outgoing-replay.ts adds a
//   Readable.map for DUP and the Receive Maximum slot. In issue 11's drain
//   (500 sessions x 100 QoS 1 after a restart) the streams, copies, bound
//   functions and promises per message were most of the replay's CPU and a
//   large share of its garbage.
// What edgemq does instead: for the replay of a Clean Start 0 CONNECT (the
//   client `connecting`), outgoingStream returns a stream that yields nothing
//   and ends once the replay is done;
//   the replay itself runs here, one stored message at a time, in aedes's
//   order and with aedes's steps and calls: DUP on a message sent before
//   [MQTT-3.3.1-1], the Receive Maximum slot [MQTT-3.3.4-7], the remaining
//   Message Expiry Interval [MQTT-3.3.2-5], the packet id as QoSPacket gives
//   it, outgoingUpdate, authorizeForward, then the write through mqtt-packet's
//   writeToStream (every observer and encoder edgemq puts there sees it) or
//   the clear. It waits only where aedes's replay waited for something real:
//   a full window, a full socket (waitForDrain), a store call that has not
//   finished. The store reads the queue a batch at a time
//   (OutgoingStore.replayInto). aedes's pipeline, its end and its errors are
//   unchanged: a failed read or write fails the stream, and the CONNECT with it.
//   A Clean Start CONNECT, aedes's clearing of a session's queue
//   (emptyOutgoingQueue: a clean close, an expired session), or a persistence
//   without outgoingReplay (plain aedes's memory store in tests) keeps aedes's path.
// Canary: test/engine/direct-queue-replay.test.ts (the pinned aedes's
//   emptyQueue calls outgoingStream while the client is connecting and ends
//   the CONNECT when the stream ends, emptyOutgoingQueue once it is not;
//   QoSPacket and write.js are the code this copies).
import { Readable } from 'node:stream'
import mqttPacket from 'mqtt-packet'
import { AedesPacket, type PacketBroker } from './aedes-packet.ts'
import { replaySlot } from './outbound-flow.ts'
import { markResend } from './pace-outgoing-replay.ts'
import type { AnyPacket, ShimmedClient, V5ShimContext } from './v5-shim-context.ts'

/** The client members the replay reads and sets (aedes 2.0.0-beta.1 lib/client.js). */
interface ReplayingClient extends ShimmedClient {
  id: string
  connecting: boolean
  _nextId: number
  waitForDrain: (done: (err?: Error | null) => void) => void
}

/** What the replay asks of the persistence: edgemq's outgoingReplay beside the aedes-persistence calls. */
interface ReplayPersistence {
  outgoingStream: (client: { id: string }) => Readable
  outgoingUpdate: (client: { id: string }, packet: AnyPacket) => Promise<unknown>
  outgoingClearMessageId: (client: { id: string }, packet: AnyPacket) => Promise<unknown>
  outgoingReplay?: (client: { id: string }, each: (packet: AnyPacket) => Promise<void> | undefined) => Promise<void>
}

/** Replays served here since the process started (tests; the store's own figures count messages). */
export const directReplays = { count: 0 }

const WRITE_OPTIONS: Record<number, { protocolVersion: 3 | 4 | 5 }> = { 3: { protocolVersion: 3 }, 4: { protocolVersion: 4 }, 5: { protocolVersion: 5 } }

/** Serves the queue replay of Clean Start 0 CONNECTs (install after paceOutgoingReplay: it takes its place for them). */
export function directQueueReplay (ctx: V5ShimContext): void {
  const persistence = ctx.broker.persistence as unknown as ReplayPersistence
  const replay = persistence.outgoingReplay
  if (typeof replay !== 'function') return
  const paced = persistence.outgoingStream
  persistence.outgoingStream = function outgoingStream (c) {
    const client = c as ReplayingClient
    // Only the replay of a CONNECT (aedes's emptyQueue, while `connecting`). aedes also reads the
    // stream to clear a session's queue (emptyOutgoingQueue, at a clean close or an expired
    // session's wipe, on a client no longer connecting): replayed here instead, an expired
    // session's queue survived it and reached the next session (found by the model-based test).
    // A Clean Start drops what a former session left: aedes's (and clean-start-connect's) clearing path.
    if (client.connecting !== true || client.connected || client.closed || client.clean || client._cleanStart === true) return paced.call(this, c)
    directReplays.count++
    return replayStream(ctx, client, persistence, replay)
  }
}

/** A stream with nothing in it that ends once the client's replay is done, or fails with it. */
function replayStream (ctx: V5ShimContext, client: ReplayingClient, persistence: ReplayPersistence, replay: NonNullable<ReplayPersistence['outgoingReplay']>): Readable {
  let started = false
  let stopped = false
  const stream = new Readable({
    objectMode: true,
    highWaterMark: 1,
    read () {
      if (started) return
      started = true
      const each = (data: AnyPacket): Promise<void> | undefined => {
        // aedes's pipeline was torn down (the connection failed): no more writes
        if (stopped) throw new Error('queue replay stopped')
        return replayOne(ctx, client, persistence, data)
      }
      replay.call(persistence, client, each).then(() => { if (!stream.destroyed) stream.push(null) }, (err: Error) => { stream.destroy(err) })
    },
    destroy (err, callback) {
      stopped = true
      callback(err)
    }
  })
  return stream
}

/** One stored message: DUP, window slot, expiry, packet id, outgoingUpdate, then write or clear. */
function replayOne (ctx: V5ShimContext, client: ReplayingClient, persistence: ReplayPersistence, data: AnyPacket): Promise<void> | undefined {
  // [MQTT-4.4.0-1] [MQTT-3.3.1-1] a stored entry with a packet id went out before: DUP=1
  markResend(data)
  const slot = replaySlot(ctx, client, data)
  if (slot !== undefined) return slot.then(() => send(ctx, client, persistence, data))
  return send(ctx, client, persistence, data)
}

/** aedes's clearQueue step for one message, then its emptyQueueFilter. */
function send (ctx: V5ShimContext, client: ReplayingClient, persistence: ReplayPersistence, data: AnyPacket): Promise<void> | undefined {
  // MQTT 5.0 Message Expiry Interval: the remaining lifetime [MQTT-3.3.2-5]; an expired one is cleared below
  const now = Date.now()
  if (data.messageExpiry !== undefined && data.messageExpiry > now) {
    data.properties = data.properties ?? {}
    data.properties.messageExpiryInterval = Math.ceil((data.messageExpiry - now) / 1000)
  }
  const packet = new ReplayPacket(data, client)
  return persistence.outgoingUpdate(client, packet).then(() => filter(ctx, client, persistence, packet), (err: Error) => {
    // aedes emits the error (which closes the client) and goes on with the next message
    client.emit('error', err)
  })
}

/** aedes's emptyQueueFilter: write the message, or clear it (Clean Start, forward refused, expired). */
function filter (ctx: V5ShimContext, client: ReplayingClient, persistence: ReplayPersistence, packet: ReplayPacket): Promise<void> | undefined {
  const authorized = packet.cmd === 'publish' ? ctx.broker.authorizeForward(client, packet as unknown as AnyPacket) : true
  const expired = packet.messageExpiry !== undefined && packet.messageExpiry <= Date.now()
  if (client.clean || client._cleanStart === true || !authorized || expired) {
    return persistence.outgoingClearMessageId(client, packet).then(noop)
  }
  return write(client, packet)
}

/** aedes's write (lib/write.js): through writeToStream in the client's wire version; waits only for a full socket. */
function write (client: ReplayingClient, packet: ReplayPacket): Promise<void> | undefined {
  if (!client.connecting && !client.connected) throw new Error('connection closed')
  let written: boolean
  try {
    written = mqttPacket.writeToStream(packet as unknown as mqttPacket.Packet, client.conn, WRITE_OPTIONS[client._wireVersion ?? 4] ?? WRITE_OPTIONS[4])
  } catch (err) {
    throw new Error('packet received not valid', { cause: err })
  }
  if (written || client.errored) return undefined
  const conn = client.conn
  if (conn.destroyed) throw new Error('connection closed')
  return new Promise((resolve, reject) => {
    // aedes's drain wait ends on close only with a drainTimeout: without one, the replay (and the
    // live deliveries waiting behind it) would wait for a 'drain' that never comes
    const closed = (): void => { reject(new Error('connection closed')) }
    conn.once('close', closed)
    client.waitForDrain((err) => {
      conn.off('close', closed)
      if (err) reject(err)
      else resolve()
    })
  })
}

function noop (): void {}

/**
 * The packet aedes's QoSPacket makes of a stored message: aedes-packet's
 * Packet, then the packet id (the stored one, else the client's next), minus
 * the bound error callback the replay never calls.
 */
export class ReplayPacket extends AedesPacket {
  constructor (original: AnyPacket, client: ReplayingClient) {
    super(original, client.broker as unknown as PacketBroker)
    if (original.messageId) {
      this.messageId = original.messageId
    } else {
      this.messageId = client._nextId
      client._nextId = client._nextId >= 65_535 ? 1 : client._nextId + 1
    }
  }
}
