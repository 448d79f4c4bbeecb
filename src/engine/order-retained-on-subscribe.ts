// Override: when the retained messages aedes sends on SUBSCRIBE reach the
// subscriber, relative to the live messages of the same topics.
// What aedes 2.0.0-beta.1 does (lib/handlers/subscribe.js completeSubscribe):
//   the subscription is in the emitter, the SUBACK is written, 'subscribe' is
//   emitted, then the matching retained messages are read from the store
//   (persistence.createRetainedStreamCombi) and each is piped, as a copy with
//   RETAIN 1 and brokerId null, into client.deliverQoS. The read is
//   asynchronous (edgemq's store first waits for its queued writes, then
//   iterates LevelDB) while live routing is not: live messages of the same
//   topic reach the subscriber first and the retained copy, older, after
//   them. Measured with one publisher sending retained QoS 1 messages as fast
//   as it can (test/e2e/retained-live-order.test.ts): 138 of 192 subscribers
//   got a stale retained value after newer live ones (10,11,...,16 then 9 with
//   RETAIN 1); a dashboard that keeps the last value shows 9. Mosquitto 2.0.11
//   sends the retained copy inside its SUBSCRIBE handling: 0 of 192.
// What edgemq does instead: [MQTT-4.6.0-6] (3.1.1) / [MQTT-4.6.0-5] (5.0): a
//   subscriber gets the messages of one topic from one publisher in the
//   order they were received, the retained copy [MQTT-3.3.1-6] (3.1.1) /
//   [MQTT-3.3.1-9] (5.0) included. edgemq reads the store itself and places
//   each retained copy in the client's stream of live deliveries:
//   - While a SUBSCRIBE's retained read runs, the client's live deliveries
//     are held (in order, with their callbacks) and released when it ends.
//   - A copy goes right before the first held live delivery of its topic
//     whose brokerCounter is >= the stored message's (an older live one goes
//     before it, a newer one after it); with only older ones held, after
//     them; with none of its topic held, at once.
//   - A copy whose message had not yet been routed when the SUBSCRIBE
//     completed (its retained write is queued but the emitter has not
//     matched it: its live copy is still to come to this subscription) waits
//     for that live copy and goes right before it.
//   - A message stored by an earlier run (another brokerId) is older than any
//     live message of this one: its copy goes first.
//   - For a persistent session a copy also waits for the live QoS > 0
//     messages handed to aedes before it and not yet written (aedes writes
//     those after an asynchronous outgoingUpdate, a RETAIN 1 copy at once)
//     and for the client's queue replay (older messages aedes writes without
//     deliverQoS; LevelPersistence.queueReplayDone).
//   A copy is the message's retained copy (RETAIN 1), so when the stored
//   message is also delivered live the subscriber sees it twice, in order
//   (RETAIN 1 then RETAIN 0). Held deliveries wait only for the store read
//   (no retained message under the filters: no read, nothing held), which
//   hands up to COPY_WINDOW copies to aedes before it waits for their writes.
//   The copies are built as aedes builds them (expiry, Subscription
//   Identifier, brokerId null); aedes gets an empty stream. After: 0 of 192
//   rounds in every run of that test (3.1.1 and 5.0, QoS 0 and 1, clean and
//   persistent, topic and wildcard; the built bundle too).
// Canary: test/engine/order-retained-on-subscribe.test.ts (the order of
//   completeSubscribe, sendRetained's copy, the emitter's _do handing every
//   message to _parallel, storeRetained before routing).
import { Readable } from 'node:stream'

type Callback = (err?: Error | null) => void
type Packet = Record<string | symbol, any> & { topic: string, qos: number }
type Deliver = (packet: Packet, cb: Callback) => void

/** The aedes client members this override reads and wraps. */
interface OrderClient {
  id: string | null
  closed: boolean
  clean: boolean
  deliver0: Deliver
  deliverQoS: Deliver
  [STATE]?: ClientOrder | undefined
  [OUTSTANDING]?: number
}

/** A subscription as aedes emits it with 'subscribe'. */
interface EmittedSubscription { topic: string, subscriptionIdentifier?: number }

/** The aedes instance members this override uses. */
interface OrderBroker {
  id: string
  counter: number
  on: (event: 'subscribe', listener: (subs: EmittedSubscription[], client: OrderClient) => void) => unknown
  emit: (event: 'clientError', client: OrderClient, err: Error) => boolean
  handle: (conn: unknown, req: unknown) => OrderClient
  mq: { _parallel: (emitter: unknown, matches: unknown, message: Packet, callback: Callback) => unknown }
  persistence: {
    storeRetained: (packet: Packet) => Promise<void>
    createRetainedStreamCombi: (patterns: string[]) => Readable
    /** edgemq's store: false when no retained message can match (nothing is read, nothing held). */
    mayHaveRetained?: (patterns: string[]) => boolean
    /** edgemq's store: the client's queue replay on (re)connect, while it runs (src/persistence/outgoing-store.ts). */
    queueReplayDone?: (clientId: string) => Promise<void> | undefined
  }
}

/** One queued delivery; `deliver` undefined: a retained copy (sent through client.deliverQoS). */
interface Held { packet: Packet, cb: Callback, deliver: Deliver | undefined, counted: boolean }

/** Per client, while a retained read runs, deliveries are queued or a copy waits for its live message. */
interface ClientOrder {
  broker: OrderBroker
  reads: number
  /** Deliveries in the order the client gets them. */
  queue: Held[]
  /** Live deliveries in the queue, by topic (a copy looks through the queue only for a topic found here). */
  liveTopics: Map<string, number>
  /** The first queued one is a copy waiting for the outstanding live deliveries. */
  blocked: boolean
  /** Copies waiting for the live delivery of their message, by topic. */
  waiting: Map<string, { counter: number, copy: Packet }>
}

/** What the SUBSCRIBE whose retained messages are read looked like when it completed. */
interface Capture {
  client: OrderClient
  subs: EmittedSubscription[]
}

const STATE = Symbol('edgemq.retainedOrder')
/** On a live delivery this override has seen (aedes's deliverQoS hands QoS 0 on to deliver0: the same object). */
const PASSED = Symbol('edgemq.retainedOrderPassed')
/** On a retained copy this override sends. */
const COPY = Symbol('edgemq.retainedCopy')
/** Live QoS > 0 deliveries of a persistent session handed to aedes and not yet written. */
const OUTSTANDING = Symbol('edgemq.outstandingLive')
const noop = (): void => {}
const NONE: ReadonlySet<number> = new Set()
/** Retained copies a read hands to aedes before it waits for their writes (socket back-pressure reaches it through aedes's write callback). */
const COPY_WINDOW = 64

/** Installs the override (call after installV5Shims and installMergeOverlappingDeliveries: it wraps what they installed). */
export function installOrderRetainedOnSubscribe (aedes: unknown): void {
  const broker = aedes as OrderBroker
  const persistence = broker.persistence
  // brokerCounters of this run's retained messages whose write is queued and
  // that the emitter has not matched yet (their live copies are still to come)
  const unrouted = new Set<number>()
  const storeRetained = persistence.storeRetained.bind(persistence)
  persistence.storeRetained = (packet) => {
    if (packet.brokerId !== broker.id || typeof packet.brokerCounter !== 'number') return storeRetained(packet)
    const counter = packet.brokerCounter
    unrouted.add(counter)
    const written = storeRetained(packet)
    written.catch(() => { unrouted.delete(counter) }) // not stored: not routed either
    return written
  }
  const mq = broker.mq
  const deliver = mq._parallel
  // mqemitter's _do matches a message and hands it to _parallel, which calls the
  // subscriptions synchronously: for a message emitted at once, one it had
  // queued, and one guard-emitter-recursion.ts put off to the next turn (that
  // guard wraps _do itself, so a wrapper of _do would see a message too early)
  mq._parallel = function deliverRouted (this: unknown, emitter: unknown, matches: unknown, message: Packet, callback: Callback) {
    if (message.retain === true && unrouted.size > 0 && message.brokerId === broker.id) unrouted.delete(message.brokerCounter)
    return deliver.call(this, emitter, matches, message, callback)
  }

  // aedes emits 'subscribe' and, in the same synchronous run, asks for the retained stream
  let captured: Capture | undefined
  broker.on('subscribe', (subs, client) => {
    const capture = { client, subs }
    captured = capture
    queueMicrotask(() => { if (captured === capture) captured = undefined })
  })
  const retainedStream = persistence.createRetainedStreamCombi.bind(persistence)
  persistence.createRetainedStreamCombi = (patterns) => {
    const capture = captured
    captured = undefined
    if (capture === undefined || persistence.mayHaveRetained?.(patterns) === false || !patterns.every((p) => capture.subs.some((s) => s.topic === p))) return retainedStream(patterns)
    const client = capture.client
    const state = client[STATE] ??= { broker, reads: 0, queue: [], liveTopics: new Map(), blocked: false, waiting: new Map() }
    state.reads++
    // every message created from now on, and every one not matched yet, is still to come live
    const routedUpTo = broker.counter
    const pending = unrouted.size > 0 ? new Set(unrouted) : NONE
    const isUnrouted = (counter: number): boolean => counter > routedUpTo || pending.has(counter)
    void sendRetained(broker, client, state, retainedStream(patterns), capture.subs[0]?.subscriptionIdentifier, isUnrouted)
      .then(() => { endRead(client, state) })
      .catch((err: Error) => { broker.emit('clientError', client, err) })
    return Readable.from([])
  }

  const handle = broker.handle
  broker.handle = function handleOrdered (this: unknown, conn: unknown, req: unknown): OrderClient {
    const client = handle.call(this, conn, req)
    orderDeliveries(broker, client)
    return client
  }
}

/** Wraps a client's deliver0/deliverQoS: queued while a retained read runs or a copy waits its turn. */
function orderDeliveries (broker: OrderBroker, client: OrderClient): void {
  const wrap = (inner: Deliver, viaQoS: boolean): Deliver => (packet, cb) => {
    // aedes writes a persistent session's live QoS > 0 message only once its
    // queue entry is updated (an asynchronous store write), a retained copy at
    // once: a copy must wait for the live ones handed on before it
    const counted = viaQoS && packet.qos > 0 && client.clean !== true
    const state = client[STATE]
    if (state === undefined) { deliverLive(client, inner, packet, cb, counted); return }
    if (packet[COPY] === true || packet[PASSED] === true) { inner(packet, cb); return }
    packet[PASSED] = true
    if (state.waiting.size > 0) {
      const waiting = state.waiting.get(packet.topic)
      if (waiting !== undefined && ownCounter(broker, packet) >= waiting.counter) {
        state.waiting.delete(packet.topic)
        state.queue.push({ packet: waiting.copy, cb: noop, deliver: undefined, counted: false })
      }
    }
    state.queue.push({ packet, cb, deliver: inner, counted })
    state.liveTopics.set(packet.topic, (state.liveTopics.get(packet.topic) ?? 0) + 1)
    pump(client, state)
  }
  client.deliver0 = wrap(client.deliver0, false)
  client.deliverQoS = wrap(client.deliverQoS, true)
}

/** Hands a live delivery on; a counted one is outstanding until aedes has written it. */
function deliverLive (client: OrderClient, inner: Deliver, packet: Packet, cb: Callback, counted: boolean): void {
  if (!counted) { inner(packet, cb); return }
  client[OUTSTANDING] = (client[OUTSTANDING] ?? 0) + 1
  inner(packet, (err) => {
    if (--client[OUTSTANDING]! === 0) {
      const state = client[STATE]
      if (state?.blocked === true) pump(client, state)
    }
    cb(err)
  })
}

/** Hands queued deliveries on in order, unless a retained read runs; a copy waits for what is ahead of it (copyMustWait). */
function pump (client: OrderClient, state: ClientOrder): void {
  state.blocked = false
  while (state.reads === 0 && state.queue.length > 0) {
    const h = state.queue[0]
    if (h.deliver === undefined) {
      const wait = copyMustWait(state.broker, client)
      if (wait !== undefined) {
        state.blocked = true
        if (wait !== OUTSTANDING_LIVE) {
          wait.then(() => { if (client[STATE] === state && state.blocked) pump(client, state) })
            .catch((err: Error) => { state.broker.emit('clientError', client, err) })
        }
        return
      }
    }
    state.queue.shift()
    if (h.deliver !== undefined) {
      const left = state.liveTopics.get(h.packet.topic)! - 1
      if (left === 0) state.liveTopics.delete(h.packet.topic)
      else state.liveTopics.set(h.packet.topic, left)
    }
    if (h.deliver === undefined) client.deliverQoS(h.packet, h.cb)
    else deliverLive(client, h.deliver, h.packet, h.cb, h.counted)
  }
  if (state.reads === 0 && state.queue.length === 0 && state.waiting.size === 0 && client[STATE] === state) client[STATE] = undefined
}

const OUTSTANDING_LIVE = Promise.resolve()

/**
 * What a retained copy must wait for before aedes gets it: a persistent
 * session's live messages handed on and not yet written (OUTSTANDING_LIVE:
 * the last one's write resumes the queue), or its queue replay (older
 * messages aedes writes without deliverQoS); undefined: nothing.
 */
function copyMustWait (broker: OrderBroker, client: OrderClient): Promise<void> | undefined {
  if ((client[OUTSTANDING] ?? 0) > 0) return OUTSTANDING_LIVE
  if (client.clean === true || client.id === null) return undefined
  return broker.persistence.queueReplayDone?.(client.id)
}

/** The brokerCounter of a message routed by this run; -Infinity for anything else. */
function ownCounter (broker: OrderBroker, packet: Packet): number {
  return packet.brokerId === broker.id && typeof packet.brokerCounter === 'number' ? packet.brokerCounter : -Infinity
}

/** Reads the retained messages and places a copy of each (see the header). */
async function sendRetained (broker: OrderBroker, client: OrderClient, state: ClientOrder, stream: Readable, subscriptionIdentifier: number | undefined, isUnrouted: (counter: number) => boolean): Promise<void> {
  // Copies handed to aedes and not yet written: the read goes on while fewer
  // than COPY_WINDOW are (aedes's own pipe waited for each one), so it ends,
  // and lets the held live deliveries go, sooner. Held for a whole one-by-one
  // read, a persistent session's live messages piled up in its stored queue,
  // which the PUBACK of each copy (not in the store) scans: 5,000 retained
  // under '#' with live traffic took 26.7 s instead of 1.6 s.
  let sending = 0
  let wake: (() => void) | undefined
  const sent = (): void => {
    sending--
    if (wake !== undefined && sending < COPY_WINDOW) { const w = wake; wake = undefined; w() }
  }
  try {
    for await (const stored of stream as AsyncIterable<Packet>) {
      if (client.closed) break
      const now = Date.now()
      if (stored.messageExpiry !== undefined && stored.messageExpiry - now <= 0) {
        // as aedes: an expired retained message is removed, not sent (MQTT 5.0 §3.3.2.3.3)
        await broker.persistence.storeRetained({ topic: stored.topic, payload: Buffer.alloc(0) } as unknown as Packet).catch(noop)
        continue
      }
      const copy: Held = { packet: retainedCopy(broker, stored, now, subscriptionIdentifier), cb: noop, deliver: undefined, counted: false }
      const counter = ownCounter(broker, stored)
      const queuedLive = state.liveTopics.has(stored.topic)
      const at = queuedLive ? firstNotOlder(broker, state.queue, stored.topic, counter) : -1
      if (at >= 0) { state.queue.splice(at, 0, copy); continue }
      if (counter !== -Infinity && isUnrouted(counter)) { state.waiting.set(stored.topic, { counter, copy: copy.packet }); continue }
      // routed before the SUBSCRIBE completed: after the queued older ones of its
      // topic and the outstanding live ones, else at once
      if (queuedLive || copyMustWait(broker, client) !== undefined) { state.queue.push(copy); continue }
      sending++
      client.deliverQoS(copy.packet, sent)
      if (sending >= COPY_WINDOW) await new Promise<void>((resolve) => { wake = resolve })
    }
  } catch {
    // a store read that fails sends what it read (aedes's pipe would stop there too); the queued deliveries go on
  }
}

/** Index of the first queued live delivery of `topic` whose message is not older than `counter`; -1 when none. */
function firstNotOlder (broker: OrderBroker, queue: Held[], topic: string, counter: number): number {
  for (let i = 0; i < queue.length; i++) {
    const h = queue[i]
    if (h.deliver !== undefined && h.packet.topic === topic && ownCounter(broker, h.packet) >= counter) return i
  }
  return -1
}

/** Ends one retained read; the last one lets the queued deliveries go, in order. */
function endRead (client: OrderClient, state: ClientOrder): void {
  if (--state.reads > 0) return
  pump(client, state)
}

/** The copy aedes's sendRetained builds (aedes-packet's fields, RETAIN 1, brokerId null: never deduplicated). */
function retainedCopy (broker: OrderBroker, stored: Packet, now: number, subscriptionIdentifier: number | undefined): Packet {
  const copy: Packet = {
    cmd: stored.cmd || 'publish',
    brokerId: null,
    brokerCounter: ++broker.counter,
    topic: stored.topic,
    payload: stored.payload || Buffer.alloc(0),
    qos: stored.qos || 0,
    retain: true,
    dup: false,
    [COPY]: true
  }
  if (copy.qos > 0) copy.messageId = undefined
  if (stored.properties !== undefined || stored.messageExpiry !== undefined || subscriptionIdentifier !== undefined) {
    const properties: Record<string, unknown> = { ...stored.properties }
    if (stored.messageExpiry !== undefined) properties.messageExpiryInterval = Math.ceil((stored.messageExpiry - now) / 1000)
    if (subscriptionIdentifier !== undefined) properties.subscriptionIdentifier = subscriptionIdentifier
    copy.properties = properties
  }
  return copy
}
