// A shared-subscription group cannot be drained by a member that may not read
// the messages (issue 14): the round robin skips members the ACL refuses for
// each message, and no acknowledged message is lost because of whom the turn
// fell on. Real clients on real sockets, the broker with its security part.
// Before the fix: of 10 acknowledged QoS 1 messages the operator got 5, the
// sensor 0, and 5 were lost.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { MqttClient } from 'mqtt'
import { connectClient, collectTopics } from '../auth/mqtt-connect.ts'
import { startSecureBroker, tempDir, writePasswords, removeDir, type SecureBroker } from '../auth/security-broker.ts'

let dir: string
let b: SecureBroker
const clients: MqttClient[] = []

test.before(async () => {
  dir = await tempDir()
  const pw = await writePasswords(dir, { operator: 'op-pass', sensor: 'sensor-pass', feeder: 'feeder-pass' })
  const acl = join(dir, 'acl.yaml')
  await writeFile(acl, `groups: { ops: [operator] }
rules:
  - { group: ops, allow: readwrite, topic: "#" }
  - { user: sensor, allow: readwrite, topic: "sensors/%u/#" }
  - { user: feeder, allow: write, topic: "#" }
`)
  b = await startSecureBroker(`auth: { passwordFile: ${pw}, aclFile: ${acl}, lockout: { enabled: false } }\nlisteners: [ { name: lan, type: tcp, host: 127.0.0.1, port: 0, allowAnonymous: false } ]\n`, dir)
})
test.after.each(() => { for (const c of clients.splice(0)) c.end(true) })
test.after(async () => { await b.stop(); await removeDir(dir) })

async function login (user: string, password: string, protocolVersion: 4 | 5 = 5): Promise<MqttClient> {
  const c = await connectClient(`mqtt://127.0.0.1:${b.port()}`, { username: user, password, protocolVersion })
  clients.push(c)
  return c
}
const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }
async function waitUntil (check: () => boolean, timeoutMs = 5000): Promise<void> {
  const t0 = Date.now()
  while (!check() && Date.now() - t0 < timeoutMs) await sleep(20)
}

for (const version of [5, 4] as const) {
  test(`MQTT ${version === 5 ? '5' : '3.1.1'}: 10 acknowledged QoS 1 messages the sensor may not read all reach the operator`, async () => {
    const operator = await login('operator', 'op-pass', version)
    const sensor = await login('sensor', 'sensor-pass', version)
    const feeder = await login('feeder', 'feeder-pass', version)
    const opGot = collectTopics(operator)
    const sensorGot = collectTopics(sensor)
    await operator.subscribeAsync('$share/dash/#', { qos: 1 })
    const granted = await sensor.subscribeAsync('$share/dash/#', { qos: 1 })
    assert.is(granted[0].qos, 1, 'the sensor is granted: # overlaps its own topics')
    for (let i = 0; i < 10; i++) await feeder.publishAsync(`dash/${i}`, String(i), { qos: 1 })
    await waitUntil(() => opGot.length >= 10)
    await sleep(200)
    assert.is(opGot.length, 10, `operator got ${opGot.join(', ')}`)
    assert.is(sensorGot.length, 0)
  })
}

test('messages both members may read are still shared in turn, none twice, none lost', async () => {
  const operator = await login('operator', 'op-pass')
  const sensor = await login('sensor', 'sensor-pass')
  const feeder = await login('feeder', 'feeder-pass')
  const opGot = collectTopics(operator)
  const sensorGot = collectTopics(sensor)
  await operator.subscribeAsync('$share/both/#', { qos: 1 })
  await sensor.subscribeAsync('$share/both/#', { qos: 1 })
  for (let i = 0; i < 10; i++) await feeder.publishAsync(`sensors/sensor/${i}`, String(i), { qos: 1 })
  await waitUntil(() => opGot.length + sensorGot.length >= 10)
  await sleep(200)
  assert.is(opGot.length + sensorGot.length, 10)
  assert.ok(opGot.length > 0 && sensorGot.length > 0, `both get a share: operator ${opGot.length}, sensor ${sensorGot.length}`)
  assert.is(new Set([...opGot, ...sensorGot]).size, 10, 'no message twice')
})

test('a message no member may read goes to nobody (and nothing breaks)', async () => {
  const sensor = await login('sensor', 'sensor-pass')
  const feeder = await login('feeder', 'feeder-pass')
  const sensorGot = collectTopics(sensor)
  await sensor.subscribeAsync('$share/solo/#', { qos: 1 })
  await feeder.publishAsync('dash/secret', 'x', { qos: 1 })
  await feeder.publishAsync('sensors/sensor/ok', 'x', { qos: 1 })
  await waitUntil(() => sensorGot.length >= 1)
  await sleep(200)
  assert.equal(sensorGot, ['sensors/sensor/ok'])
})

test.run()
