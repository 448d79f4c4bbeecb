// One bridge: an upstream MQTT.js client that drains the disk queue in order
// and brings the `in` topics down into the local broker. It reconnects with
// jittered exponential backoff; any protocol error from the upstream (bad
// CONNACK, malformed or oversized packet, keepalive timeout) closes that
// connection and schedules the next attempt, never touching the local broker.
import { MqttClient, Store, type IClientOptions, type IPublishPacket } from 'mqtt'
import { isEdgemqError } from '../errors.ts'
import type { Logger } from '../observability/logger.ts'
import type { TopicSealer } from '../crypto/topic-sealer.ts'
import type { PublishInfo } from '../broker-hooks.ts'
import { backoffDelay } from './backoff.ts'
import { EchoMemory } from './echo-memory.ts'
import type { BridgeSecrets, BridgeSpec } from './bridge-config.ts'
import type { BridgeQueue } from './bridge-queue.ts'
import type { LocalBroker } from './local-broker.ts'
import { findInboundRule, findOutboundRule, matchTopic, remoteFilter, toLocalTopic, toRemoteTopic } from './topic-rules.ts'
import { dialUpstream } from './upstream-stream.ts'
import type { QueueEntry } from './bridge-queue.ts'
import { isFailureCode } from '../reason-codes.ts'

/** MQTT 5 user property naming the gateway that forwarded a message (hop marker). */
export const HOP_PROPERTY = 'edgemq-bridge'

/** What `edgemq ctl bridges` and $SYS show of one bridge. */
export interface BridgeStatus {
  name: string
  enabled: boolean
  connected: boolean
  /** The upstream address in use (or last tried). */
  url: string
  queue: { messages: number, bytes: number, oldestAgeSeconds: number, inflight: number }
  counters: {
    enqueued: number
    delivered: number
    dropped: number
    refused: number
    corrupt: number
    received: number
    rejectedUpstream: number
    echoesDropped: number
    unsolicitedDropped: number
    openFailed: number
    sealFailed: number
    connects: number
    connectFailures: number
  }
  lastError?: string
  /** Seconds since lastError. */
  lastErrorAgeSeconds?: number
}

/** A seal rule with its sealer. */
export interface SealBinding {
  topics: readonly string[]
  sealer: TopicSealer
}

/** What a bridge is built from. */
export interface BridgeDeps {
  spec: BridgeSpec
  secrets: BridgeSecrets
  queue: BridgeQueue
  local: LocalBroker
  logger: Logger
  seals: readonly SealBinding[]
  /** Monotonic ms. */
  now: () => number
  /** Wall-clock ms (queue record timestamps survive restarts). */
  wallNow: () => number
  random: () => number
}

/** How long a connection must stay up before the backoff starts again from initialDelay. */
const STABLE_MS = 10_000

/** One upstream bridge. */
export class Bridge {
  readonly spec: BridgeSpec
  private readonly deps: BridgeDeps
  private readonly log: Logger
  private readonly counters = { received: 0, rejectedUpstream: 0, echoesDropped: 0, unsolicitedDropped: 0, openFailed: 0, sealFailed: 0, connects: 0, connectFailures: 0 }
  private client: MqttClient | undefined
  private connected = false
  private generation = 0
  private inflight = new Set<QueueEntry>()
  private window = 1
  private stopped = false
  private running: Promise<void> | undefined
  private wake: (() => void) | undefined
  private url: string
  private lastError: string | undefined
  private lastErrorAt = 0
  /** Payloads this bridge published locally: never send them back up the same bridge. */
  private readonly fromUpstream = new WeakSet<Buffer>()
  /**
   * Inbound QoS 2 PUBLISHes waiting for their PUBREL, shared by every connection
   * of this bridge: MQTT.js delivers a QoS 2 message on PUBREL, so a store
   * per connection would lose one whose PUBREL comes after a reconnect.
   */
  private readonly incomingStore = new Store()
  /** v3.1.1 echo detection for both-direction rules. */
  private readonly echoes = new EchoMemory()

  private readonly hasBothRule: boolean

  constructor (deps: BridgeDeps) {
    this.deps = deps
    this.spec = deps.spec
    this.hasBothRule = deps.spec.topics.some((r) => r.direction === 'both')
    this.log = deps.logger
    this.url = deps.spec.urls[0]
    deps.queue.onReady = () => { this.pump() }
  }

  /** Starts the connect loop (no-op when the bridge is disabled). */
  start (): void {
    if (!this.spec.enabled || this.running !== undefined) return
    this.running = this.run()
  }

  /** Disconnects and stops; the queue stays on disk. */
  async stop (): Promise<void> {
    this.stopped = true
    this.wake?.()
    this.dropConnection()
    await this.running
  }

  /**
   * The beforeAck hook's work for this bridge: queue a local message that an
   * out rule matches. Resolves once it is in LevelDB.
   */
  async offer (msg: PublishInfo): Promise<void> {
    // A bridge being restarted by a reload still queues: the queue outlives it and the new bridge sends it.
    if (!this.spec.enabled) return
    const rule = findOutboundRule(this.spec.topics, msg.topic)
    if (rule === undefined) return
    if (this.fromUpstream.has(msg.payload)) return // came down this bridge: do not echo it back up
    let payload = msg.payload
    const seal = this.findSeal(msg.topic)
    if (seal !== undefined) {
      try {
        payload = seal.sealer.seal(payload)
      } catch (err) {
        // Never forward plaintext of a sealed topic.
        this.counters.sealFailed++
        this.noteError(`seal failed on ${msg.topic}: ${(err as Error).message}`)
        return
      }
    }
    const queued = await this.deps.queue.enqueue({
      topic: toRemoteTopic(rule, msg.topic),
      payload,
      qos: rule.qos,
      retain: rule.retain === 'keep' ? msg.retain : false,
      enqueuedAt: this.deps.wallNow()
    })
    if (!queued && this.deps.queue.counters.refused % 1000 === 1) {
      this.log.warn('bridge queue full; new messages refused', { bridge: this.spec.name, refused: this.deps.queue.counters.refused })
    }
  }

  /** The state of this bridge. */
  status (): BridgeStatus {
    const q = this.deps.queue
    const oldest = q.oldestEnqueuedAt()
    return {
      name: this.spec.name,
      enabled: this.spec.enabled,
      connected: this.connected,
      url: this.url,
      queue: {
        messages: q.count,
        bytes: q.bytes,
        oldestAgeSeconds: oldest === undefined ? 0 : Math.max(0, Math.round((this.deps.wallNow() - oldest) / 1000)),
        inflight: this.inflight.size
      },
      counters: { ...q.counters, ...this.counters },
      lastError: this.lastError,
      lastErrorAgeSeconds: this.lastError === undefined ? undefined : Math.round((this.deps.now() - this.lastErrorAt) / 1000)
    }
  }

  private findSeal (localTopic: string): SealBinding | undefined {
    return this.deps.seals.find((s) => s.topics.some((f) => matchTopic(f, localTopic)))
  }

  private noteError (message: string): void {
    this.lastError = message
    this.lastErrorAt = this.deps.now()
  }

  private async run (): Promise<void> {
    let attempt = 0
    let index = 0
    while (!this.stopped) {
      this.url = this.spec.urls[index % this.spec.urls.length]
      const started = this.deps.now()
      const wasUp = await this.connectOnce(this.url)
      if (this.stopped) break
      if (wasUp && this.deps.now() - started >= STABLE_MS) { attempt = 0; index = 0 } else if (!wasUp) index++
      const delay = backoffDelay(attempt++, this.spec.reconnect, this.deps.random)
      this.log.info('bridge reconnecting', { bridge: this.spec.name, in_ms: delay, url: this.spec.urls[index % this.spec.urls.length] })
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay)
        this.wake = () => { clearTimeout(timer); resolve() }
      })
      this.wake = undefined
    }
  }

  /** One connection, from dialing to close. Resolves true when it got a CONNACK. */
  private async connectOnce (url: string): Promise<boolean> {
    const spec = this.spec
    const gen = ++this.generation
    const v5 = spec.protocolVersion === 5
    const options: IClientOptions = {
      protocolVersion: spec.protocolVersion,
      clientId: spec.clientId,
      username: spec.auth.username,
      password: this.deps.secrets.password,
      keepalive: Math.round(spec.keepalive / 1000),
      clean: spec.cleanSession,
      reconnectPeriod: 0, // our own backoff, with jitter and a cap
      connectTimeout: spec.connectTimeout,
      resubscribe: false,
      queueQoSZero: false,
      manualConnect: true,
      incomingStore: this.incomingStore,
      properties: v5
        ? { sessionExpiryInterval: spec.cleanSession ? 0 : Math.floor(spec.sessionExpiry / 1000), maximumPacketSize: spec.maxPacketSize, receiveMaximum: 64 }
        : undefined
    }
    let dialError: Error | undefined
    const client = new MqttClient(() => {
      const stream = dialUpstream(url, spec.tls, this.deps.secrets, spec.maxPacketSize)
      stream.on('error', (err) => { dialError = err })
      return stream
    }, options)
    this.client = client
    let gotConnack = false
    const attemptStarted = this.deps.now()
    return await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        if (!gotConnack) { this.noteError(`no CONNACK within ${spec.connectTimeout} ms from ${url}`); client.end(true) }
      }, spec.connectTimeout + 1000)
      client.handleMessage = (packet, done) => {
        this.onInbound(packet, gen).then(() => { done() }, (err: Error) => {
          // The local broker did not take it: drop the connection so a persistent session redelivers.
          this.noteError(`local publish failed: ${err.message}`)
          done()
          client.end(true)
        })
      }
      client.on('connect', (connack) => {
        gotConnack = true
        clearTimeout(timer)
        if (gen !== this.generation) return
        this.connected = true
        this.counters.connects++
        const receiveMaximum = (connack.properties?.receiveMaximum ?? 65_535)
        this.window = Math.max(1, Math.min(spec.maxInflight, receiveMaximum))
        this.log.info('bridge connected', { bridge: spec.name, url, session_present: connack.sessionPresent, queued: this.deps.queue.count })
        this.subscribeInbound(client, gen)
        this.inflight.clear()
        this.deps.queue.rewind()
        this.pump()
      })
      client.on('error', (err) => {
        // Any error on this connection ends it: a malformed or hostile upstream gets no second packet.
        this.noteError(`${url}: ${err.message}`)
        this.log.warn('bridge connection error', { bridge: spec.name, url, error: err.message })
        client.end(true)
      })
      client.on('close', () => {
        clearTimeout(timer)
        if (gen === this.generation) {
          if (this.connected) this.log.info('bridge disconnected', { bridge: spec.name, url })
          this.connected = false
          this.inflight.clear()
        }
        if (!gotConnack) {
          this.counters.connectFailures++
          if (dialError !== undefined) this.noteError(`${url}: ${dialError.message}`)
          else if (this.lastErrorAt < attemptStarted) this.noteError(`${url}: connection closed before CONNACK`)
        }
        client.end(true)
        client.removeAllListeners('connect')
        resolve(gotConnack)
      })
      if (this.stopped) { clearTimeout(timer); resolve(false); return }
      try {
        client.connect()
      } catch (err) {
        clearTimeout(timer)
        this.counters.connectFailures++
        this.noteError(`${url}: ${(err as Error).message}`)
        resolve(false)
      }
    })
  }

  private dropConnection (): void {
    const client = this.client
    this.client = undefined
    this.connected = false
    client?.end(true)
  }

  private subscribeInbound (client: MqttClient, gen: number): void {
    const v5 = this.spec.protocolVersion === 5
    const subs = this.spec.topics.filter((r) => r.direction !== 'out').map((r) => ({
      topic: remoteFilter(r),
      // nl: no-local [MQTT-3.8.3-3], so a both rule never gets its own messages back; rap keeps the retain flag.
      options: v5 ? { qos: r.qos, nl: true, rap: true, rh: 0 as const } : { qos: r.qos }
    }))
    for (const s of subs) {
      client.subscribe(s.topic, s.options, (err, granted) => {
        if (gen !== this.generation) return
        const refused = granted?.find((g) => g.qos === 128 || g.qos > 2)
        if (err !== null && err !== undefined) this.noteError(`subscribe ${s.topic} failed: ${err.message}`)
        else if (refused !== undefined) this.noteError(`upstream refused the subscription ${s.topic} (reason ${refused.qos})`)
      })
    }
  }

  /** Sends queued messages while the window has room. In order: the queue hands them out oldest first. */
  private pump (): void {
    const client = this.client
    if (!this.connected || client === undefined) return
    const gen = this.generation
    while (this.inflight.size < this.window) {
      const entry = this.deps.queue.next()
      if (entry === undefined) return
      this.inflight.add(entry)
      const { msg } = entry
      const properties = this.spec.protocolVersion === 5 ? { userProperties: { [HOP_PROPERTY]: this.spec.clientId } } : undefined
      if (this.spec.protocolVersion !== 5 && this.hasBothRule) this.echoes.remember(msg.topic, msg.payload)
      client.publish(msg.topic, msg.payload, { qos: msg.qos, retain: msg.retain, properties }, (err) => {
        if (gen !== this.generation) return // an old connection's late callback
        this.inflight.delete(entry)
        if (err !== undefined && err !== null) {
          const code = (err as { code?: number }).code
          if (typeof code === 'number' && isFailureCode(code)) {
            // The upstream refused this message (v5 PUBACK/PUBREC reason code): resending would block the queue forever.
            this.counters.rejectedUpstream++
            this.noteError(`upstream refused ${msg.topic}: ${err.message}`)
            this.deps.queue.ack(entry)
          }
          return
        }
        this.deps.queue.ack(entry)
        this.pump()
      })
    }
  }

  private async onInbound (packet: IPublishPacket, gen: number): Promise<void> {
    if (gen !== this.generation) return
    const topic = packet.topic
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload)
    const hop = packet.properties?.userProperties?.[HOP_PROPERTY]
    if (hop === this.spec.clientId || (Array.isArray(hop) && hop.includes(this.spec.clientId))) { this.counters.echoesDropped++; return }
    if (this.spec.protocolVersion !== 5 && this.echoes.isEcho(topic, payload)) { this.counters.echoesDropped++; return }
    const rule = findInboundRule(this.spec.topics, topic)
    if (rule === undefined) { this.counters.unsolicitedDropped++; return } // not subscribed: a hostile or confused upstream
    const localTopic = toLocalTopic(rule, topic)
    if (localTopic.length === 0 || localTopic.startsWith('$SYS') || /[+#\u0000]/.test(localTopic)) { this.counters.unsolicitedDropped++; return }
    let body = payload
    const seal = this.findSeal(localTopic)
    if (seal !== undefined) {
      try {
        body = seal.sealer.open(payload)
      } catch (err) {
        this.counters.openFailed++
        const why = isEdgemqError(err) ? `${err.code}: ${err.message}` : (err as Error).message
        this.noteError(`open failed on ${topic}: ${why}`)
        if (this.counters.openFailed % 100 === 1) this.log.warn('bridge inbound payload failed to open; dropped', { bridge: this.spec.name, topic, error: why, count: this.counters.openFailed })
        return
      }
    }
    this.fromUpstream.add(body)
    const qos = Math.min(packet.qos, rule.qos) as 0 | 1 | 2
    await this.deps.local.publish({ topic: localTopic, payload: body, qos, retain: rule.retain === 'keep' ? packet.retain : false })
    this.counters.received++
  }
}
