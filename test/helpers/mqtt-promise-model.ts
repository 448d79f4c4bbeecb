// A small in-memory model of what MQTT promises a subscriber (issue 11's
// model-based test, test/e2e/store-model.test.ts): which sessions exist, which
// messages a session may receive and which it must receive, in what order, how
// often and with which DUP flag, what the retained store holds, and what an
// offline-queue cap may drop. It states the specification (MQTT 3.1.1 and 5.0)
// and edgemq's documented queue-cap policy (docs/persistence.md "Offline queue
// bounds"), not edgemq's code: the test compares the real broker against it.
//
// What it promises, and where the spec says so:
// - QoS 0: at most once; it may be lost (offline queues hold QoS 1/2 only).
//   The model only checks that a QoS 0 message never arrives twice.
// - QoS 1: at least once [MQTT-4.3.2]. A resend of a message the client has
//   not acknowledged carries DUP=1 [MQTT-3.3.1-1] [MQTT-4.4.0-1]; a copy
//   without DUP, or a copy of a message the client already acknowledged, is a
//   failure unless a kill -9 came between (docs/persistence.md invariant 9: the
//   packet id of a sent QoS 1 message is not on disk, so after a crash it is
//   resent as a new delivery; still at least once).
// - QoS 2: exactly once to the application [MQTT-4.3.3]: the client keeps the
//   packet id from PUBLISH until PUBREL (method B) and hands a PUBLISH with a
//   held id to nobody. A second application delivery is a failure, kill -9 or not.
// - Order: for QoS > 0, the first deliveries of one publisher's messages on one
//   topic at one QoS keep the publish order [MQTT-4.6.0-5] [MQTT-4.6.0-6].
// - Sessions: Clean Session 1 / Clean Start 1 starts a new session
//   [MQTT-3.1.2-4] [MQTT-3.1.2-6]; a 3.1.1 persistent session lasts until a
//   clean connect (edgemq has no option that expires it); a v5 session ends
//   when its Session Expiry Interval has passed after the network connection
//   closed [MQTT-3.1.2-23] [MQTT-4.1.0-2], restart or not. CONNACK Session
//   Present says whether one was resumed [MQTT-3.2.2-2] [MQTT-3.2.2-3]. A
//   message of an ended session, or one published while the session had no
//   matching subscription, must never arrive (a resurrected session).
// - Retained: a SUBSCRIBE gets the last retained message of each matching
//   topic [MQTT-3.3.1-6]; a QoS > 0 retained publish, once acknowledged, is
//   the one; a QoS 0 one may be lost, so the one before stays acceptable.
// - Queue cap (limits.maxQueuedMessages, docs/persistence.md): a session's
//   queue counts its messages holding a payload (queued, or sent and not yet
//   PUBACKed / PUBRECed). drop-oldest: an offline enqueue over the cap drops the
//   oldest message not yet sent, or the new one when only sent ones are left.
//   refuse-new: a v5 publisher hears 0x97 for a message a full queue of an
//   offline persistent subscriber cannot take, and nobody gets it; a 3.1.1
//   publisher's message is dropped for that subscriber only.

export type QoS = 0 | 1 | 2

/** One published message (its payload is its id). */
export interface ModelMessage {
  id: string
  pub: string
  topic: string
  qos: QoS
  retain: boolean
  /** Publish order of this publisher (all topics). */
  seq: number
}

/** What a session holds of one live message. */
export interface Entry {
  msg: ModelMessage
  /** min(publish QoS, subscription QoS) [MQTT-3.8.4-6]. */
  qos: QoS
  /** QoS > 0 and not dropped by the cap policy: it must arrive. */
  owed: boolean
  dropped: boolean
  copies: number
  appCopies: number
  /** The client sent PUBACK / PUBREC for its latest copy. */
  acked: boolean
  /** Kill epoch of the latest copy / of the acknowledgement. */
  copyEpoch: number
  ackEpoch: number
}

/** A failure found by the model: what was expected, what happened. */
export class ModelViolation extends Error {}

/** The time a v5 session expiry may be late or early by (timers, a loaded machine). */
export const EXPIRY_SLACK_MS = { early: 400, late: 1400 }

/** One subscriber's session as MQTT promises it. */
export class SessionModel {
  /** 'maybe': the expiry is too close to call; the next CONNACK decides. */
  state: 'none' | 'yes' | 'maybe' = 'none'
  /** Survives the network connection (3.1.1 clean 0, v5 expiry > 0). */
  persistent = false
  expiryMs = 0
  online = false
  offlineSince = 0
  readonly subs = new Map<string, QoS>()
  entries = new Map<string, Entry>()
  private lastFirst = new Map<string, number>()

  constructor (readonly name: string, readonly version: 4 | 5) {}

  /** Moves 'yes' to 'maybe' / 'none' as the expiry of an offline v5 session runs. */
  age (now: number): void {
    if (this.online || this.state === 'none' || this.expiryMs === Infinity) return
    const away = now - this.offlineSince
    if (away > this.expiryMs + EXPIRY_SLACK_MS.late) this.end()
    else if (away >= this.expiryMs - EXPIRY_SLACK_MS.early) this.state = 'maybe'
  }

  /** The session ends: nothing of it may arrive again. */
  end (): void {
    this.state = 'none'
    this.subs.clear()
    this.entries = new Map()
    this.lastFirst = new Map()
  }

  /** The network connection closed (DISCONNECT, broker stop or kill). */
  closed (now: number): void {
    this.online = false
    this.offlineSince = now
    if (!this.persistent) this.end()
  }

  /** Whether a live message of this topic matches a subscription; its granted QoS. */
  matching (topic: string): QoS | undefined {
    let best: QoS | undefined
    for (const [filter, qos] of this.subs) if (topicMatches(filter, topic) && (best === undefined || qos > best)) best = qos
    return best
  }

  /** Messages that hold a payload in the broker's queue (the cap's count). */
  queueCount (): number {
    let n = 0
    for (const e of this.entries.values()) if (e.owed && !e.acked) n++
    return n
  }

  /** Offline enqueue under drop-oldest: the oldest message not yet sent makes room, or the new one is dropped. */
  enqueueDropOldest (e: Entry, cap: number): void {
    if (cap > 0 && this.queueCount() + 1 > cap) {
      const oldest = [...this.entries.values()].find((x) => x.owed && !x.acked && x.copies === 0)
      if (oldest === undefined) { e.owed = false; e.dropped = true } else { oldest.owed = false; oldest.dropped = true }
    }
    this.entries.set(e.msg.id, e)
  }

  /** Checks one received live PUBLISH against the promises; returns whether the application gets it. */
  receive (p: { id: string, qos: QoS, dup: boolean, packetId?: number }, held: boolean, epoch: number): boolean {
    const e = this.entries.get(p.id)
    if (e === undefined) throw new ModelViolation(`${this.name} received ${p.id}, which this session never subscribed to or which belongs to an ended session (resurrected)`)
    if (p.qos !== e.qos) throw new ModelViolation(`${this.name} received ${p.id} at QoS ${p.qos}, expected QoS ${e.qos} (publish QoS ${e.msg.qos}, granted ${e.qos})`)
    if (e.qos === 0) {
      if (e.copies > 0) throw new ModelViolation(`${this.name} received QoS 0 message ${p.id} twice`)
      e.copies++; e.appCopies++
      return true
    }
    if (e.copies > 0 && !p.dup && epoch === e.copyEpoch) throw new ModelViolation(`${this.name} received ${p.id} (QoS ${e.qos}) again without DUP, no kill -9 since the previous copy [MQTT-3.3.1-1]`)
    if (e.acked && epoch === e.ackEpoch) throw new ModelViolation(`${this.name} received ${p.id} (QoS ${e.qos}) again after acknowledging it, no kill -9 since`)
    const app = !(e.qos === 2 && held)
    if (app && e.qos === 2 && e.appCopies > 0) throw new ModelViolation(`${this.name}'s application received QoS 2 message ${p.id} twice (packet id ${String(p.packetId)}, dup ${String(p.dup)}) [MQTT-4.3.3]`)
    if (app && e.appCopies === 0) {
      // [MQTT-4.6.0-5] [MQTT-4.6.0-6] per publisher, topic and QoS
      const stream = `${e.msg.pub} ${e.msg.topic} ${e.msg.qos}`
      const last = this.lastFirst.get(stream) ?? -1
      if (e.msg.seq < last) throw new ModelViolation(`${this.name} first received ${p.id} after ${e.msg.pub}:${last} on ${e.msg.topic} (QoS ${e.msg.qos}): publisher order broken [MQTT-4.6.0-6]`)
      this.lastFirst.set(stream, e.msg.seq)
    }
    e.copies++
    e.copyEpoch = epoch
    e.acked = false
    if (app) e.appCopies++
    return app
  }

  /** Acknowledged messages of this session that have not arrived. */
  missing (): string[] {
    const out: string[] = []
    for (const e of this.entries.values()) if (e.owed && e.copies === 0) out.push(e.msg.id)
    return out
  }
}

/** Per topic, the retained messages a SUBSCRIBE may get (null: none). */
export class RetainedModel {
  private readonly accept = new Map<string, Set<string | null>>()

  /** What a SUBSCRIBE may get for this topic. */
  acceptable (topic: string): Set<string | null> {
    return this.accept.get(topic) ?? new Set([null])
  }

  /** A retained publish was taken: QoS > 0 acknowledged replaces; QoS 0 may be lost, so the older stays possible. */
  stored (msg: ModelMessage): void {
    if (msg.qos > 0) this.accept.set(msg.topic, new Set([msg.id]))
    else this.accept.set(msg.topic, new Set([...this.acceptable(msg.topic), msg.id]))
  }
}

/** MQTT topic matching with + and # (no $ topics here). */
export function topicMatches (filter: string, topic: string): boolean {
  const f = filter.split('/')
  const t = topic.split('/')
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true
    if (i >= t.length) return false
    if (f[i] !== '+' && f[i] !== t[i]) return false
  }
  return f.length === t.length
}
