// Persistent sessions for the drain and disk scenarios: create N offline
// sessions with a QoS 1 subscription each, queue M QoS 1 messages for them
// (message k goes to session k mod N, so every queued message is a distinct
// PUBLISH the broker must store), then reconnect them all and time the drain.
import { performance } from 'node:perf_hooks'
import { MqttLink, mapLimit } from '../mqtt-link.ts'
import { PACKET, encodePublish, flushPubacks, publishLayout } from '../mqtt-wire.ts'
import { round } from '../stats.ts'

/** Which sessions: client ids `<prefix>-<i>`, topics `bench/drain/<prefix>/<i>`. */
export interface SessionSet {
  port: number
  sessions: number
  prefix: string
}

function topicOf (set: SessionSet, i: number): string {
  return `bench/drain/${set.prefix}/${i}`
}

/** Connects every session with clean session off, subscribes it at QoS 1, and disconnects it. */
export async function setupSessions (set: SessionSet): Promise<{ ms: number }> {
  const started = performance.now()
  await mapLimit(set.sessions, 100, async (i) => {
    const link = await MqttLink.open({ port: set.port, clientId: `${set.prefix}-${i}`, clean: false })
    await link.subscribe(topicOf(set, i), 1)
    link.disconnect()
    // Publishing starts only once the broker has closed it: the session is offline.
    if (!(await link.closed(10_000))) throw new Error(`the broker did not close ${set.prefix}-${i} within 10 s of its DISCONNECT`)
  })
  return { ms: round(performance.now() - started, 0) }
}

/** Publishes `messages` QoS 1 messages round-robin to the sessions' topics, `inflight` at a time, and waits for every PUBACK. */
export async function queueMessages (set: SessionSet & { messages: number, payloadBytes: number, inflight: number }): Promise<{ ms: number, perSecond: number }> {
  const payload = Buffer.alloc(Math.max(4, set.payloadBytes), 0x62)
  const templates = Array.from({ length: set.sessions }, (_, i) => encodePublish(topicOf(set, i), payload, 1))
  let sent = 0
  let acked = 0
  let nextId = 1
  let lastAck = performance.now()
  let finish: () => void = () => {}
  const publisher = await MqttLink.open({
    port: set.port,
    clientId: `${set.prefix}-publisher`,
    onFrame: (type) => { if (type === PACKET.PUBACK) acked++ },
    afterChunk: (self) => {
      lastAck = performance.now()
      send(self)
      if (acked >= set.messages) finish()
    }
  })
  function send (link: MqttLink): void {
    const count = Math.min(set.inflight - (sent - acked), set.messages - sent)
    if (count <= 0) return
    const parts: Buffer[] = []
    for (let j = 0; j < count; j++) {
      const k = sent + j
      const t = templates[k % set.sessions]
      const bytes = Buffer.from(t.bytes)
      bytes.writeUInt16BE(nextId, t.packetIdOffset)
      nextId = nextId === 65_535 ? 1 : nextId + 1
      bytes.writeUInt32BE(k, t.payloadOffset)
      parts.push(bytes)
    }
    sent += count
    link.socket.write(Buffer.concat(parts))
  }
  const started = performance.now()
  let watchdog: NodeJS.Timeout | undefined
  try {
    await new Promise<void>((resolve, reject) => {
      finish = resolve
      watchdog = setInterval(() => {
        if (performance.now() - lastAck > 30_000) reject(new Error(`queueing stalled: ${acked} of ${set.messages} QoS 1 messages acknowledged, none for 30 s`))
      }, 500)
      send(publisher)
    })
  } finally {
    clearInterval(watchdog)
    publisher.disconnect()
    await publisher.closed(5_000)
  }
  const ms = performance.now() - started
  return { ms: round(ms, 0), perSecond: round(set.messages / (ms / 1000), 0) }
}

/** What the drain measured. */
export interface DrainResult {
  /** From the first connect to the last distinct message delivered. */
  ms: number
  /** From the first connect to the last CONNACK. */
  connectMs: number
  distinct: number
  duplicates: number
  /** Sessions whose CONNACK said the broker still had them. */
  sessionsPresent: number
  complete: boolean
}

/**
 * Reconnects every session (clean session off) and times until all `messages`
 * have arrived once (or `expected` of them, when only some sessions reconnect); acks each.
 */
export async function drainSessions (set: SessionSet & { messages: number, timeoutMs: number, concurrency: number, expected?: number }): Promise<DrainResult> {
  const expected = set.expected ?? set.messages
  const seen = new Uint8Array(set.messages)
  let distinct = 0
  let duplicates = 0
  let lastDistinctAt = 0
  let finish: () => void = () => {}
  const acks: number[] = []
  const started = performance.now()
  const links: MqttLink[] = []
  let connectMs = 0
  const all = mapLimit(set.sessions, set.concurrency, async (i) => {
    const link = await MqttLink.open({
      port: set.port,
      clientId: `${set.prefix}-${i}`,
      clean: false,
      timeoutMs: set.timeoutMs,
      onFrame: (type, flags, buf, start) => {
        if (type !== PACKET.PUBLISH) return
        const { packetId, payloadStart } = publishLayout(buf, flags, start)
        if (packetId !== 0) acks.push(packetId)
        const k = buf.readUInt32BE(payloadStart)
        if (k >= set.messages || seen[k] === 1) { duplicates++; return }
        seen[k] = 1
        distinct++
        if (distinct === expected) { lastDistinctAt = performance.now(); finish() }
      },
      afterChunk: (self) => { flushPubacks(self.socket, acks) }
    })
    links.push(link)
    return link.sessionPresent
  }).then((present) => { connectMs = performance.now() - started; return present })
  let timer: NodeJS.Timeout | undefined
  let giveUp: NodeJS.Timeout | undefined
  const complete = await Promise.race([
    new Promise<boolean>((resolve) => { finish = () => resolve(true) }),
    new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), set.timeoutMs) }),
    // A broker that kept none of the sessions will never deliver: stop 3 s after the last CONNACK.
    all.then((present) => new Promise<boolean>((resolve) => {
      if (present.some(Boolean)) return
      giveUp = setTimeout(() => { if (distinct === 0) resolve(false) }, 3_000)
    }), () => false)
  ])
  clearTimeout(timer)
  clearTimeout(giveUp)
  const present = await all.catch(() => [] as boolean[])
  await new Promise((resolve) => setTimeout(resolve, 200)) // late duplicates, and the last PUBACKs out
  for (const link of links) link.disconnect()
  await Promise.all(links.map((l) => l.closed(5_000)))
  return {
    ms: round((complete ? lastDistinctAt : performance.now()) - started, 0),
    connectMs: round(connectMs, 0),
    distinct,
    duplicates,
    sessionsPresent: present.filter(Boolean).length,
    complete
  }
}
