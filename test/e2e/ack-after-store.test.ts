// A QoS 1 message whose persistent subscribers are all away is stored in their
// offline queues before its PUBACK, instead of journaled (issue 11: the payload
// is written once; LevelPersistence.ackAfterStore, AFTER_ROUTE in
// src/engine/route-qos1-before-ack.ts). Checked against the built
// bundle, as users run it: a kill -9 in the middle of such a stream loses no
// acknowledged message, and PUBACKs leave in the order their PUBLISHes came
// when held, journaled and unstored messages of one publisher mix (as
// Mosquitto sends them; MQTT states the rule for clients, [MQTT-4.6.0-2]).
// Before, a message nobody stores was acknowledged ahead of an earlier
// journaled one (round 0 failed on the code before issue 11's change).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { rm } from 'node:fs/promises'
import { dirname } from 'node:path'
import { connect, connectAsync, type MqttClient } from 'mqtt'
import { startBrokerProcess, type BrokerProcessHandle } from '../helpers/broker-process.ts'
import { RawMqtt } from '../helpers/raw-mqtt.ts'

const handles: BrokerProcessHandle[] = []
test.after(async () => {
  for (const h of handles) await h.kill('SIGKILL')
  for (const h of new Set(handles.map((h) => dirname(h.configPath)))) await rm(h, { recursive: true, force: true })
})

const SESSIONS = 20

async function subscribeAway (port: number, prefix: string, sessions: number): Promise<void> {
  for (let i = 0; i < sessions; i++) {
    const c = await connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: `${prefix}-${i}`, clean: false, reconnectPeriod: 0 })
    await c.subscribeAsync(`${prefix}/${i}`, { qos: 1 })
    await c.endAsync()
  }
}

test('kill -9 in a QoS 1 stream to persistent subscribers that are all away: every acknowledged message is delivered after the restart, none from a journal replay', async () => {
  let b = await startBrokerProcess({ bundle: true })
  handles.push(b)
  const { port, dataDir } = b
  await subscribeAway(port, 'aw', SESSIONS)
  // A raw publisher: 100 PUBLISHes unacknowledged at most, each PUBACK noted.
  const pub = await RawMqtt.open(port, 4)
  pub.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 60, clientId: 'aw-pub' })
  await pub.next('connack')
  const sent = new Map<number, string>()
  const acked: string[] = []
  let nextId = 1
  let k = 0
  const sendMore = (): void => {
    while (sent.size < 100 && k < 100_000) {
      const id = nextId
      nextId = nextId === 65_535 ? 1 : nextId + 1
      const payload = `m${k}`
      sent.set(id, payload)
      pub.send({ cmd: 'publish', topic: `aw/${k % SESSIONS}`, payload, qos: 1, messageId: id, retain: false, dup: false })
      k++
    }
  }
  pub.socket.on('data', () => {
    for (const p of pub.received.splice(0)) {
      if (p.cmd !== 'puback') continue
      const payload = sent.get(p.messageId)
      if (payload !== undefined) { acked.push(payload); sent.delete(p.messageId) }
    }
    sendMore()
  })
  sendMore()
  const deadline = Date.now() + 30_000
  while (acked.length < 3000 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5))
  assert.ok(acked.length >= 3000, `only ${acked.length} PUBACKs in 30 s`)
  await b.kill('SIGKILL')
  const ackedAtKill = [...acked]
  assert.ok(sent.size > 0, 'messages were still unacknowledged at the kill (the kill came mid-stream)')
  pub.socket.destroy()

  b = await startBrokerProcess({ bundle: true, config: `listeners:\n  - { name: tcp, type: tcp, host: 127.0.0.1, port: ${port} }\npersistence:\n  path: ${JSON.stringify(dataDir)}\n` })
  handles.push(b)
  assert.not.match(b.stderr(), /replayed acknowledged messages/, 'these messages are not journaled: nothing to replay')
  const got = new Set<string>()
  const subs: MqttClient[] = []
  try {
    for (let i = 0; i < SESSIONS; i++) {
      const c = connect(`mqtt://127.0.0.1:${port}`, { clientId: `aw-${i}`, clean: false, reconnectPeriod: 0 })
      c.on('message', (_t, p) => { got.add(p.toString()) })
      subs.push(c)
    }
    const until = Date.now() + 60_000
    const missing = (): string[] => ackedAtKill.filter((m) => !got.has(m))
    while (missing().length > 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 50))
    assert.equal(missing().slice(0, 10), [], `${missing().length} of ${ackedAtKill.length} acknowledged messages lost`)
  } finally {
    for (const c of subs) c.end(true)
  }
})

test('PUBACKs leave in the order of their PUBLISHes when held (subscriber away), journaled (subscriber connected) and unstored (no persistent subscriber) messages mix', async () => {
  const b = await startBrokerProcess({ bundle: true })
  handles.push(b)
  await subscribeAway(b.port, 'away', 1)
  const here = await connectAsync(`mqtt://127.0.0.1:${b.port}`, { clientId: 'here-0', clean: false, reconnectPeriod: 0 })
  try {
    await here.subscribeAsync('here/0', { qos: 1 })
    const topics = ['away/0', 'here/0', 'none/0']
    for (let round = 0; round < 20; round++) {
      const { c } = await RawMqtt.connected(b.port, 4, { clientId: `order-${round}` })
      // one TCP write: aedes handles the 30 PUBLISHes of one read concurrently
      const parts: Buffer[] = []
      const mqttPacket = (await import('mqtt-packet')).default
      // rotate which kind comes first, so every pair of kinds is tried in both orders
      for (let i = 1; i <= 30; i++) parts.push(mqttPacket.generate({ cmd: 'publish', topic: topics[(i + round) % 3], payload: Buffer.from(`r${round}-${i}`), qos: 1, messageId: i, retain: false, dup: false }))
      c.write(Buffer.concat(parts))
      const ids: number[] = []
      for (let i = 0; i < 30; i++) ids.push((await c.next('puback', 10_000)).messageId)
      assert.equal(ids, Array.from({ length: 30 }, (_, i) => i + 1), `round ${round}: PUBACK order`)
      c.socket.destroy()
    }
  } finally {
    here.end(true)
  }
})

test.run()
