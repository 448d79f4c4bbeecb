// The authorization map on real sockets: wildcard subscriptions never carry a
// denied topic (failure-modes row 5), $SYS (row 6), wills (row 9), retained
// messages, reason codes per protocol version, and a reload that takes a
// permission away applying to existing subscriptions at once.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { type IClientOptions, type MqttClient } from 'mqtt'
import { connectClient, collectTopics } from '../auth/mqtt-connect.ts'
import { startSecureBroker, tempDir, writePasswords, removeDir, configFrom, type SecureBroker } from '../auth/security-broker.ts'

const ACL = (extra = '') => `groups: { sensors: [alice, bob], ops: [carol] }
rules:
  - { group: sensors, allow: readwrite, topic: "sensors/%u/#" }
  - { user: alice, allow: read, topic: "site/a/#" }
  - { group: ops, allow: read, topic: "$SYS/#" }
  - { group: ops, allow: readwrite, topic: "#" }
  - { user: bob, deny: write, topic: "sensors/bob/cmd" }
${extra}`

const clients: MqttClient[] = []
let dir: string
let aclPath: string
let pwPath: string
let b: SecureBroker
const yaml = (): string => `auth: { passwordFile: ${pwPath}, aclFile: ${aclPath}, lockout: { ipFailures: 1000 } }\nlisteners: [ { name: lan, type: tcp, host: 127.0.0.1, port: 0, allowAnonymous: false } ]\nsys: { interval: 200ms }\n`

async function login (user: string, opts: IClientOptions = {}): Promise<MqttClient> {
  const c = await connectClient(`mqtt://127.0.0.1:${b.port()}`, { username: user, password: `${user}-pass`, ...opts })
  clients.push(c)
  return c
}
const settle = async (ms = 300): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }
/** Waits until `got` holds `topic` (a sentinel published last: everything before it has been delivered or dropped). */
async function waitFor (got: string[], topic: string, timeoutMs = 10_000): Promise<void> {
  const t0 = Date.now()
  while (!got.includes(topic)) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`${topic} never arrived; got ${got.join(', ')}`)
    await settle(20)
  }
  got.splice(got.indexOf(topic), 1)
}
async function granted (c: MqttClient, filter: string): Promise<number> {
  try {
    const r = await c.subscribeAsync(filter, { qos: 1 })
    return r[0].qos
  } catch (err) {
    return (err as { packet?: { granted?: number[] } }).packet?.granted?.[0] ?? -1
  }
}

test.before(async () => {
  dir = await tempDir()
  pwPath = await writePasswords(dir, { alice: 'alice-pass', bob: 'bob-pass', carol: 'carol-pass' })
  aclPath = join(dir, 'acl.yaml')
  await writeFile(aclPath, ACL())
  b = await startSecureBroker(yaml(), dir)
})
test.after(async () => { for (const c of clients.splice(0)) c.end(true); await b.stop(); await removeDir(dir) })
test.after.each(async () => {
  for (const c of clients.splice(0)) c.end(true)
  await writeFile(aclPath, ACL())
  await b.broker.reload(await configFrom(yaml(), dir).then((c) => ({ ...c, listeners: b.broker.config.listeners })))
})

test('#, +/#, site/+/x and $share/g/# deliver only the topics the client may read (row 5)', async () => {
  const alice = await login('alice')
  const subs: Record<string, MqttClient> = {}
  const got: Record<string, string[]> = {}
  for (const f of ['#', '+/#', 'site/+/x', '$share/g/#']) {
    const c = await login('alice', { clientId: `alice-${f.replace(/[#+/$]/g, '_')}` })
    subs[f] = c
    got[f] = collectTopics(c)
    assert.is(await granted(c, f), 1, `SUBACK for ${f}`)
  }
  const carol = await login('carol')
  for (const t of ['site/a/x', 'site/b/x', 'sensors/bob/t', 'other', 'site/a/deep/x', 'site/a/end']) await carol.publishAsync(t, 'p', { qos: 1 })
  for (const f of ['#', '+/#', '$share/g/#']) await waitFor(got[f], 'site/a/end')
  await settle(50)
  assert.equal(got['#'].sort(), ['site/a/deep/x', 'site/a/x'])
  assert.equal(got['+/#'].sort(), ['site/a/deep/x', 'site/a/x'])
  assert.equal(got['site/+/x'], ['site/a/x'])
  assert.equal(got['$share/g/#'].sort(), ['site/a/deep/x', 'site/a/x'])
  void alice
})

test('publishing outside the ACL: v5 PUBACK 0x87, v3.1.1 message dropped; the deny rule beats the group grant', async () => {
  const bob5 = await login('bob', { protocolVersion: 5 })
  const carol = await login('carol')
  const seen = collectTopics(carol)
  await carol.subscribeAsync('#', { qos: 1 })
  await bob5.publishAsync('sensors/bob/ok', 'x', { qos: 1 })
  try { await bob5.publishAsync('sensors/alice/x', 'x', { qos: 1 }); assert.unreachable() } catch (err) { assert.is((err as { code?: number }).code, 0x87) }
  try { await bob5.publishAsync('sensors/bob/cmd', 'x', { qos: 1 }); assert.unreachable() } catch (err) { assert.is((err as { code?: number }).code, 0x87) }
  const bob3 = await login('bob', { clientId: 'bob3' })
  await bob3.publishAsync('sensors/alice/y', 'x', { qos: 0 })
  // 3.1.1 has no negative PUBACK: a denied QoS 1 is acknowledged and dropped
  // [MQTT-3.3.5-2] (auth.deniedPublish: acknowledge, the default; issue 9).
  const bob3q1 = await login('bob', { clientId: 'bob3q1' })
  await bob3q1.publishAsync('sensors/alice/z', 'x', { qos: 1 })
  assert.ok(bob3q1.connected)
  await carol.publishAsync('end', 'x', { qos: 1 })
  await waitFor(seen, 'end')
  assert.equal(seen, ['sensors/bob/ok'])
})

test('SUBSCRIBE outside the ACL: v3.1.1 SUBACK 0x80, v5 SUBACK 0x87', async () => {
  const bob3 = await login('bob')
  const bob5 = await login('bob', { protocolVersion: 5, clientId: 'bob5' })
  assert.is(await granted(bob3, 'sensors/alice/#'), 0x80)
  assert.is(await granted(bob5, 'sensors/alice/#'), 0x87)
  assert.is(await granted(bob3, 'sensors/bob/#'), 1)
})

test('$SYS: unprivileged clients cannot subscribe or receive it; the ops group can; nobody publishes into it (row 6)', async () => {
  const alice = await login('alice')
  assert.is(await granted(alice, '$SYS/#'), 0x80)
  const aliceAll = collectTopics(alice)
  assert.is(await granted(alice, '#'), 1)
  const carol = await login('carol')
  const carolSys = collectTopics(carol)
  assert.is(await granted(carol, '$SYS/#'), 1)
  const carol5 = await login('carol', { protocolVersion: 5, clientId: 'carol5' })
  try { await carol5.publishAsync('$SYS/x/new/clients', 'evil', { qos: 1 }); assert.unreachable() } catch (err) { assert.ok([0x87, 0x80, 0x90].includes((err as { code?: number }).code ?? -1), String(err)) }
  const t0 = Date.now()
  while (!carolSys.some((t) => t.startsWith('$SYS/')) && Date.now() - t0 < 10_000) await settle(50)
  await settle(300)
  assert.ok(carolSys.some((t) => t.startsWith('$SYS/')), 'ops reads $SYS')
  assert.not.ok(aliceAll.some((t) => t.startsWith('$SYS')), 'alice never sees $SYS through #')
  assert.not.ok(carolSys.includes('$SYS/x/new/clients'))
})

test('a will to a forbidden topic or to $SYS is refused at CONNECT (row 9); a permitted will is published', async () => {
  for (const topic of ['sensors/alice/lwt', '$SYS/broker/lwt']) {
    try {
      await login('bob', { will: { topic, payload: Buffer.from('x'), qos: 1, retain: false } })
      assert.unreachable(topic)
    } catch (err) { assert.is((err as { code?: number }).code, 5, topic) }
  }
  try {
    await login('bob', { protocolVersion: 5, will: { topic: 'sensors/alice/lwt', payload: Buffer.from('x'), qos: 1, retain: false } })
    assert.unreachable()
  } catch (err) { assert.is((err as { code?: number }).code, 0x87) }
  const carol = await login('carol')
  const seen = collectTopics(carol)
  await carol.subscribeAsync('sensors/#', { qos: 1 })
  const bob = await login('bob', { clientId: 'bob-will', will: { topic: 'sensors/bob/lwt', payload: Buffer.from('gone'), qos: 1, retain: false } })
  clients.splice(clients.indexOf(bob), 1)
  ;(bob as unknown as { stream: { destroy: () => void } }).stream.destroy()
  await waitFor(seen, 'sensors/bob/lwt')
  assert.equal(seen, [])
})

test('retained messages are filtered on subscribe too: # never replays a denied retained topic', async () => {
  const carol = await login('carol')
  await carol.publishAsync('site/a/ret', 'ok', { qos: 1, retain: true })
  await carol.publishAsync('site/b/ret', 'secret', { qos: 1, retain: true })
  try {
    const alice = await login('alice')
    const seen = collectTopics(alice)
    await alice.subscribeAsync('#', { qos: 1 })
    await carol.publishAsync('site/a/end', 'x', { qos: 1 })
    await waitFor(seen, 'site/a/end')
    // the SUBACK's retained replay is read from the store and may come after a live message on another
    // topic: wait for the allowed one, then give the denied one (next in the same replay) time to show
    await waitFor(seen, 'site/a/ret')
    await settle(200)
    assert.equal(seen, [], 'the denied retained topic was replayed')
  } finally {
    // cleared even when the test fails, or the next tests would get them on their SUBSCRIBEs
    await carol.publishAsync('site/a/ret', '', { qos: 1, retain: true })
    await carol.publishAsync('site/b/ret', '', { qos: 1, retain: true })
  }
})

test('a reload that takes a read permission away stops delivery on an existing subscription at once', async () => {
  const alice = await login('alice')
  const seen = collectTopics(alice)
  await alice.subscribeAsync('site/a/#', { qos: 1 })
  await alice.subscribeAsync('sensors/alice/#', { qos: 1 })
  const carol = await login('carol')
  await carol.publishAsync('site/a/1', 'x', { qos: 1 })
  await carol.publishAsync('sensors/alice/end1', 'x', { qos: 1 })
  await waitFor(seen, 'sensors/alice/end1')
  assert.equal(seen, ['site/a/1'])
  await writeFile(aclPath, ACL().replace('  - { user: alice, allow: read, topic: "site/a/#" }\n', ''))
  await b.broker.reload(await configFrom(yaml(), dir).then((c) => ({ ...c, listeners: b.broker.config.listeners })))
  await carol.publishAsync('site/a/2', 'x', { qos: 1 })
  await carol.publishAsync('sensors/alice/end2', 'x', { qos: 1 })
  await waitFor(seen, 'sensors/alice/end2')
  assert.equal(seen, ['site/a/1'], 'nothing after the reload')
  assert.ok(alice.connected, 'the client stays connected')
})

test('a Mosquitto acl_file works unchanged on the broker', async () => {
  await writeFile(aclPath, 'user alice\ntopic readwrite home/alice/#\npattern read devices/%u/cmd\n')
  await b.broker.reload(await configFrom(yaml(), dir).then((c) => ({ ...c, listeners: b.broker.config.listeners })))
  const alice = await login('alice', { protocolVersion: 5 })
  await alice.publishAsync('home/alice/x', 'ok', { qos: 1 })
  try { await alice.publishAsync('home/bob/x', 'no', { qos: 1 }); assert.unreachable() } catch (err) { assert.is((err as { code?: number }).code, 0x87) }
  assert.is(await granted(alice, 'devices/alice/cmd'), 1)
  assert.is(await granted(alice, 'devices/bob/cmd'), 0x87)
})

test.run()
