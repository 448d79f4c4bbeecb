// Quotas per user and per ACL group beside the per-client ones (issue 14):
// one user with three client ids must not spend everyone's retained budget,
// members of a group share theirs, and subscriptions count per user over the
// user's connected clients. The broker with all its parts, real clients.
// Before: with limits.maxRetainedMessages as the only bound, one user's three
// client ids stored the whole budget and the next user's retained publish was
// refused.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { MqttClient } from 'mqtt'
import { connectClient } from '../auth/mqtt-connect.ts'
import { tempDir, writePasswords, removeDir } from '../auth/security-broker.ts'
import { startBrokerInProcess, type InProcessBroker } from '../helpers/broker-process.ts'

let dir: string
let b: InProcessBroker
const clients: MqttClient[] = []

test.before(async () => {
  dir = await tempDir()
  const pw = await writePasswords(dir, { alice: 'pw', bob: 'pw', t1: 'pw', t2: 'pw', t3: 'pw' })
  const acl = join(dir, 'acl.yaml')
  await writeFile(acl, 'groups: { tenant-a: [t1, t2] }\nrules:\n  - { allow: readwrite, topic: "#" }\n')
  b = await startBrokerInProcess(`auth: { passwordFile: ${pw}, aclFile: ${acl}, lockout: { enabled: false } }
limits: { maxRetainedMessages: 40, maxSubscriptionsPerUser: 3, groupQuotas: { tenant-a: { maxRetainedMessages: 5, maxSubscriptions: 0 } } }
listeners: [ { name: lan, type: tcp, host: 127.0.0.1, port: 0, allowAnonymous: false } ]
`)
})
test.after.each(() => { for (const c of clients.splice(0)) c.end(true) })
test.after(async () => { await b.stop(); await removeDir(dir) })

async function login (user: string, clientId: string): Promise<MqttClient> {
  const c = await connectClient(`mqtt://127.0.0.1:${b.port}`, { username: user, password: 'pw', clientId, protocolVersion: 5 })
  clients.push(c)
  return c
}
/** PUBACK reason code of a retained QoS 1 publish (0 = stored). */
async function retain (c: MqttClient, topic: string, payload = 'v'): Promise<number> {
  try {
    const r = await c.publishAsync(topic, payload, { qos: 1, retain: true })
    return (r as { reasonCode?: number } | undefined)?.reasonCode ?? 0
  } catch (err) {
    return (err as { code?: number }).code ?? -1
  }
}
async function suback (c: MqttClient, filter: string): Promise<number> {
  try {
    return (await c.subscribeAsync(filter, { qos: 0 }))[0].qos
  } catch (err) {
    return (err as { packet?: { granted?: number[] } }).packet?.granted?.[0] ?? -1
  }
}

test('one user with three client ids stops at its per-user share (a quarter of maxRetainedMessages); the next user still gets in', async () => {
  const devices = [await login('alice', 'a-1'), await login('alice', 'a-2'), await login('alice', 'a-3')]
  let stored = 0
  for (let i = 0; i < 40; i++) if (await retain(devices[i % 3], `alice/${i}`) === 0) stored++
  assert.is(stored, 10, 'limits.maxRetainedMessagesPerUser unset = 40 / 4')
  const bob = await login('bob', 'b-1')
  assert.is(await retain(bob, 'bob/status'), 0, 'bob is not starved by alice')
  // Replacing one of alice's own topics fits; deleting one frees a place.
  assert.is(await retain(devices[0], 'alice/0', 'v2'), 0)
  assert.is(await retain(devices[1], 'alice/0', ''), 0)
  assert.is(await retain(devices[2], 'alice/new'), 0)
  assert.is(await retain(devices[2], 'alice/new2'), 0x97, 'full again: PUBACK 0x97 quota exceeded')
})

test('members of a capped group share one retained budget; other users are unaffected', async () => {
  const t1 = await login('t1', 't1-dev')
  const t2 = await login('t2', 't2-dev')
  for (let i = 0; i < 3; i++) assert.is(await retain(t1, `ta/t1/${i}`), 0)
  assert.is(await retain(t2, 'ta/t2/0'), 0)
  assert.is(await retain(t2, 'ta/t2/1'), 0)
  assert.is(await retain(t2, 'ta/t2/2'), 0x97, 'tenant-a holds its 5')
  const t3 = await login('t3', 't3-dev')
  assert.is(await retain(t3, 't3/0'), 0)
  // An ACL refusal keeps 0x87: only quota refusals say 0x97.
  assert.is(await retain(t3, '$SYS/x'), 0x87)
})

test('subscriptions count per user over its connected clients, and free up when a client goes', async () => {
  const one = await login('bob', 'b-sub-1')
  const two = await login('bob', 'b-sub-2')
  assert.is(await suback(one, 'x/1'), 0)
  assert.is(await suback(one, 'x/2'), 0)
  assert.is(await suback(two, 'x/3'), 0)
  assert.is(await suback(two, 'x/4'), 0x97, 'maxSubscriptionsPerUser 3 reached over two client ids: quota exceeded, not 0x87')
  assert.is(await suback(two, '$share/g/x/5'), 0x97, 'a shared subscription over the cap says 0x97 too')
  await one.endAsync()
  await new Promise((resolve) => setTimeout(resolve, 200))
  assert.is(await suback(two, 'x/4'), 0, 'bob\'s first client left: its filters no longer count')
})

test.run()
