// The kill -9 acceptance scenario, shared by the persistence test (aedes on
// LevelPersistence in a child) and the e2e test (the real edgemq broker).
// An offline and an online persistent subscriber, a publisher streaming QoS 1
// and QoS 2 messages (some retained); the broker is SIGKILLed once a third of
// the stream is acknowledged, restarted on the same store and port, and every
// acknowledged message (PUBACK for QoS 1, PUBREC for QoS 2) must arrive: QoS 1
// at least once, QoS 2 exactly once, retained ones still retained.
import * as assert from 'uvu/assert'
import mqtt, { type MqttClient, type IClientOptions } from 'mqtt'

/** How the scenario drives the broker under test. */
export interface Kill9Target {
  /** Port of the running broker. */
  port: number
  /** SIGKILL it and wait for the exit. */
  kill: () => Promise<void>
  /** Start it again on the same store and port. */
  restart: () => Promise<void>
}

/** Runs the scenario; throws (uvu assertion) on any lost or duplicated message. */
export async function runKill9Scenario (target: Kill9Target, options: { n: number, id: string }): Promise<{ ackedAtKill: number }> {
  const clients: MqttClient[] = []
  const client = (o: IClientOptions): MqttClient => {
    const c = mqtt.connect({ host: '127.0.0.1', port: target.port, reconnectPeriod: 100, connectTimeout: 5000, ...o })
    c.on('error', () => {})
    clients.push(c)
    return c
  }
  const connected = (c: MqttClient): Promise<void> => c.connected ? Promise.resolve() : new Promise((resolve) => c.once('connect', () => resolve()))
  const collect = (c: MqttClient): Map<string, number> => {
    const seen = new Map<string, number>()
    c.on('message', (_t, payload) => { const k = payload.toString(); seen.set(k, (seen.get(k) ?? 0) + 1) })
    return seen
  }
  try {
    const id = options.id
    const offline = client({ clientId: `off-${id}`, clean: false })
    await connected(offline)
    await offline.subscribeAsync(`k9${id}/#`, { qos: 2 })
    await new Promise<void>((resolve) => offline.end(false, {}, () => resolve()))

    const online = client({ clientId: `on-${id}`, clean: false })
    const onlineSeen = collect(online)
    await connected(online)
    await online.subscribeAsync(`k9${id}/#`, { qos: 2 })

    const pub = client({ clientId: `pub-${id}`, clean: false })
    await connected(pub)
    const sentById = new Map<number, string>()
    const acked = new Set<string>()
    pub.on('packetsend', (p: any) => { if (p.cmd === 'publish' && p.qos > 0) sentById.set(p.messageId, p.payload.toString()) })
    pub.on('packetreceive', (p: any) => {
      if (p.cmd === 'puback' || p.cmd === 'pubrec') { const k = sentById.get(p.messageId); if (k !== undefined) acked.add(k) }
    })

    const N = options.n
    const all: Array<{ payload: string, qos: 1 | 2, retained: boolean }> = []
    const done: Array<Promise<unknown>> = []
    for (let i = 0; i < N; i++) {
      const qos = (i % 2 === 0 ? 1 : 2) as 1 | 2
      const retained = i % 50 === 0
      const payload = `${id}-q${qos}-${i}`
      all.push({ payload, qos, retained })
      done.push(pub.publishAsync(retained ? `k9${id}/r/${i}` : `k9${id}/${i % 10}`, payload, { qos, retain: retained }).catch(() => {}))
    }
    assert.ok(await waitFor(() => acked.size >= N / 3, 20_000), `only ${acked.size} acknowledged before the kill`)
    await target.kill()
    const ackedAtKill = acked.size
    await target.restart()

    // the publisher's own session resends whatever was not acknowledged
    await Promise.race([Promise.all(done), new Promise((r) => setTimeout(r, 30_000))])
    assert.is(acked.size, N, `publisher saw ${acked.size}/${N} acknowledged after the restart`)

    const offline2 = client({ clientId: `off-${id}`, clean: false })
    const offlineSeen = collect(offline2)
    const complete = (seen: Map<string, number>): boolean => all.every((m) => (seen.get(m.payload) ?? 0) >= 1)
    await waitFor(() => complete(offlineSeen) && complete(onlineSeen), 30_000, 100)
    await new Promise((r) => setTimeout(r, 500)) // let any duplicate arrive before counting

    for (const [name, seen] of [['online', onlineSeen], ['offline', offlineSeen]] as const) {
      const missing = all.filter((m) => acked.has(m.payload) && (seen.get(m.payload) ?? 0) === 0).map((m) => m.payload)
      assert.equal(missing.slice(0, 10), [], `${name} subscriber misses ${missing.length} acknowledged messages`)
      const twice = all.filter((m) => m.qos === 2 && (seen.get(m.payload) ?? 0) > 1).map((m) => m.payload)
      assert.equal(twice.slice(0, 10), [], `${name} subscriber got ${twice.length} QoS 2 messages more than once`)
    }

    const late = client({ clientId: `late-${id}`, clean: true })
    const retainedSeen = collect(late)
    await connected(late)
    await late.subscribeAsync(`k9${id}/r/#`, { qos: 1 })
    const retained = all.filter((m) => m.retained)
    await waitFor(() => retained.every((m) => retainedSeen.has(m.payload)), 5000)
    assert.equal(retained.filter((m) => !retainedSeen.has(m.payload)).map((m) => m.payload), [], 'acknowledged retained messages missing')
    assert.ok(ackedAtKill < N, 'the kill happened mid-stream')
    return { ackedAtKill }
  } finally {
    for (const c of clients) await new Promise<void>((resolve) => c.end(true, {}, () => resolve()))
  }
}

/** Polls `check` until it is true or `ms` pass. */
export async function waitFor (check: () => boolean, ms: number, step = 50): Promise<boolean> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (check()) return true
    await new Promise((r) => setTimeout(r, step))
  }
  return check()
}
