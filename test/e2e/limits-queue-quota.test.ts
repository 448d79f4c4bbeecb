// The per-user and per-group offline-queue quotas (issue 14) on real sockets,
// the broker with all its parts and real MQTT.js clients: one user's three
// persistent sessions (client ids) together hold no more than
// limits.maxQueuedMessagesPerUser, the next user's queue still accepts, every
// drop is counted and logged; with refuse-new a v5 publisher hears PUBACK
// 0x97 once the user's budget is full; a group's members share theirs.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { connect, type MqttClient } from 'mqtt'
import { connectClient } from '../auth/mqtt-connect.ts'
import { removeDir, tempDir, writePasswords } from '../auth/security-broker.ts'
import { startBrokerInProcess, type InProcessBroker } from '../helpers/broker-process.ts'
import { createLogger } from '../../src/observability/logger.ts'

let dir: string
let pw: string
let acl: string
let b: InProcessBroker | undefined
let logs: string[] = []
const clients: MqttClient[] = []

test.before(async () => {
  dir = await tempDir()
  pw = await writePasswords(dir, { alice: 'pw', bob: 'pw', pub: 'pw', t1: 'pw', t2: 'pw' })
  acl = join(dir, 'acl.yaml')
  await writeFile(acl, 'groups: { tenant-a: [t1, t2] }\nrules:\n  - { allow: readwrite, topic: "#" }\n')
})
test.after.each(async () => {
  for (const c of clients.splice(0)) await c.endAsync(true).catch(() => {})
  await b?.stop()
  b = undefined
})
test.after(async () => { await removeDir(dir) })

async function start (limits: string): Promise<InProcessBroker> {
  logs = []
  const logger = createLogger({ level: 'info', sink: (line) => { logs.push(line) } })
  b = await startBrokerInProcess(`auth: { passwordFile: ${pw}, aclFile: ${acl}, lockout: { enabled: false } }
limits: ${limits}
listeners: [ { name: lan, type: tcp, host: 127.0.0.1, port: 0, allowAnonymous: false } ]
`, { logger })
  return b
}
const url = (): string => `mqtt://127.0.0.1:${b!.port}`

/** A persistent session of `user` under `clientId`, subscribed to `filter` at QoS 1, then offline. */
async function awaySession (user: string, clientId: string, filter: string): Promise<void> {
  const c = await connectClient(url(), { username: user, password: 'pw', clientId, clean: false, protocolVersion: 4 })
  await c.subscribeAsync(filter, { qos: 1 })
  await c.endAsync()
}
/** Reconnects a session and returns the payloads its queue replays. */
async function drain (user: string, clientId: string): Promise<string[]> {
  const got: string[] = []
  const c = connect(url(), { username: user, password: 'pw', clientId, clean: false, protocolVersion: 4, reconnectPeriod: 0 })
  clients.push(c)
  c.on('message', (_t, p) => { got.push(p.toString()) })
  await new Promise<void>((resolve, reject) => { c.once('connect', () => resolve()); c.once('error', reject) })
  await new Promise((resolve) => setTimeout(resolve, 700)) // the replay comes at once; anything more would follow right behind
  return got
}
async function publisher (version: 4 | 5 = 4): Promise<MqttClient> {
  const c = await connectClient(url(), { username: 'pub', password: 'pw', clientId: `pub-${version}`, protocolVersion: version })
  clients.push(c)
  return c
}
/** PUBACK reason code of a QoS 1 publish (0 = accepted). */
async function pubackOf (c: MqttClient, topic: string, payload: string): Promise<number> {
  try {
    const r = await c.publishAsync(topic, payload, { qos: 1 })
    return (r as { reasonCode?: number } | undefined)?.reasonCode ?? 0
  } catch (err) {
    return (err as { code?: number }).code ?? -1
  }
}

test('one user with three client ids holds at most limits.maxQueuedMessagesPerUser; each keeps its newest (drop-oldest); the next user\'s queue still accepts', async () => {
  await start('{ maxQueuedMessagesPerUser: 6 }')
  for (const id of ['a-1', 'a-2', 'a-3']) await awaySession('alice', id, 'qq/alice/#')
  await awaySession('bob', 'b-1', 'qq/bob/#')
  const p = await publisher()
  for (let i = 1; i <= 5; i++) await p.publishAsync('qq/alice/x', `m${i}`, { qos: 1 })
  for (let i = 1; i <= 5; i++) await p.publishAsync('qq/bob/x', `b${i}`, { qos: 1 })
  const stats = b!.broker.stats()
  assert.is(stats.persistenceQueuedMessages, 6 + 5, 'alice 6 (her quota), bob all 5')
  assert.is(stats.persistenceQueueDroppedByQuota, 15 - 6)
  assert.ok(logs.some((l) => /offline queue quota full: queued messages dropped .*quota="?user alice/.test(l)), logs.filter((l) => /queue/.test(l)).join('\n'))
  const alice = [await drain('alice', 'a-1'), await drain('alice', 'a-2'), await drain('alice', 'a-3')]
  assert.equal(alice, [['m4', 'm5'], ['m4', 'm5'], ['m4', 'm5']], 'the budget is shared; each queue dropped its own oldest')
  assert.equal(await drain('bob', 'b-1'), ['b1', 'b2', 'b3', 'b4', 'b5'], 'bob is not starved by alice')
})

test('refuse-new: once a user\'s budget is full a v5 publisher hears PUBACK 0x97 and the queues keep what they hold; another user still accepts', async () => {
  await start('{ maxQueuedMessagesPerUser: 4, queueFullPolicy: refuse-new }')
  await awaySession('alice', 'a-1', 'qq/alice/#')
  await awaySession('alice', 'a-2', 'qq/alice/#')
  await awaySession('bob', 'b-1', 'qq/bob/#')
  const p = await publisher(5)
  // each message to qq/alice/... is queued for both of alice's sessions
  assert.equal([await pubackOf(p, 'qq/alice/x', 'm1'), await pubackOf(p, 'qq/alice/x', 'm2'), await pubackOf(p, 'qq/alice/x', 'm3')], [0, 0, 0x97])
  assert.is(await pubackOf(p, 'qq/bob/x', 'b1'), 0, 'bob\'s queue accepts')
  assert.equal(await drain('alice', 'a-1'), ['m1', 'm2'])
  assert.equal(await drain('alice', 'a-2'), ['m1', 'm2'])
  assert.equal(await drain('bob', 'b-1'), ['b1'])
})

test('members of a group with limits.groupQuotas.<group>.maxQueuedMessages share one budget', async () => {
  await start('{ groupQuotas: { tenant-a: { maxQueuedMessages: 3 } } }')
  await awaySession('t1', 't1-dev', 'qq/ta/#')
  await awaySession('t2', 't2-dev', 'qq/ta/#')
  await awaySession('alice', 'a-1', 'qq/ta/#')
  const p = await publisher()
  for (let i = 1; i <= 4; i++) await p.publishAsync('qq/ta/x', `m${i}`, { qos: 1 })
  const t = [await drain('t1', 't1-dev'), await drain('t2', 't2-dev')]
  assert.is(t[0].length + t[1].length, 3, `tenant-a holds 3 together: ${JSON.stringify(t)}`)
  assert.equal(await drain('alice', 'a-1'), ['m1', 'm2', 'm3', 'm4'], 'a user outside the group is not capped by it')
})

test.run()
