// A control character in a user name or client id, and a client id over
// limits.maxClientIdLength, get the CONNACK docs/security.md promises before
// the close (MQTT 5: 0x86 / 0x85; 3.1.1: 4 / 2) and count toward a ban
// (issue 14: they were closed without a CONNACK and never counted).
// Raw packets on real sockets, so the exact bytes reach the broker.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { RawMqtt } from '../helpers/raw-mqtt.ts'
import { startSecureBroker, tempDir, writePasswords, removeDir, type SecureBroker } from '../auth/security-broker.ts'
import { startBrokerInProcess } from '../helpers/broker-process.ts'

let dir: string
let b: SecureBroker

const YAML = (pw: string): string => `auth: { passwordFile: ${pw}, lockout: { ipFailures: 4, userFailures: 0 } }\nlimits: { maxClientIdLength: 64 }\nlisteners: [ { name: lan, type: tcp, host: 127.0.0.1, port: 0, allowAnonymous: false } ]\n`

test.before.each(async () => {
  dir = await tempDir()
  const pw = await writePasswords(dir, { alice: 'alice-pass' })
  b = await startSecureBroker(YAML(pw), dir)
})
test.after.each(async () => { await b.stop(); await removeDir(dir) })

/** CONNACK code (returnCode for 3.1.1, reasonCode for 5) and whether the broker closed the connection after it; 'closed' when no CONNACK came. */
async function connackOf (port: number, version: 4 | 5, fields: Record<string, unknown>): Promise<{ code: number | 'closed', closedAfter: boolean }> {
  const c = await RawMqtt.open(port, version)
  c.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: version, clean: true, keepalive: 60, clientId: 'dev-1', ...fields })
  try {
    const connack = await c.next('connack', 5000)
    let closedAfter = true
    try { await c.closedByBroker(3000) } catch { closedAfter = false }
    return { code: version === 5 ? connack.reasonCode : connack.returnCode, closedAfter }
  } catch {
    return { code: 'closed', closedAfter: true }
  } finally {
    c.destroy()
  }
}

const alice = { username: 'alice', password: Buffer.from('alice-pass') }

test('MQTT 5: control character in the user name 0x86, in the client id 0x85, client id over the limit 0x85; each then closed', async () => {
  assert.equal(await connackOf(b.port(), 5, { ...alice, username: 'ali\u0007ce' }), { code: 0x86, closedAfter: true })
  assert.equal(await connackOf(b.port(), 5, { ...alice, clientId: 'dev\u0001' }), { code: 0x85, closedAfter: true })
  assert.equal(await connackOf(b.port(), 5, { ...alice, clientId: 'x'.repeat(65) }), { code: 0x85, closedAfter: true })
  assert.equal(await connackOf(b.port(), 5, { ...alice, clientId: 'x'.repeat(64) }), { code: 0, closedAfter: false }, 'at the limit is fine')
})

test('MQTT 3.1.1: the matching return codes 4 and 2', async () => {
  assert.equal(await connackOf(b.port(), 4, { ...alice, username: 'ali\nce' }), { code: 4, closedAfter: true })
  assert.equal(await connackOf(b.port(), 4, { ...alice, clientId: 'dev\u007f' }), { code: 2, closedAfter: true })
  assert.equal(await connackOf(b.port(), 4, { ...alice, clientId: 'x'.repeat(65) }), { code: 2, closedAfter: true })
})

test('they count toward a ban: after limits the address is refused even with the right password', async () => {
  for (const fields of [{ username: 'a\u0001' }, { clientId: 'c\u0002' }, { clientId: 'y'.repeat(80) }, { username: 'b\u0003' }]) {
    const r = await connackOf(b.port(), 5, { ...alice, ...fields })
    assert.ok(r.code === 0x85 || r.code === 0x86, JSON.stringify(r))
  }
  const after = await connackOf(b.port(), 5, alice)
  assert.ok(after.code === 'closed' || after.code === 0x8a, `banned after 4 failures: ${JSON.stringify(after)}`)
  assert.ok(b.logs.some((l) => /warn auth: authentication failed .*reason=bad-client-id/.test(l)), 'logged for Fail2Ban')
})

test('without the security part the broker still answers with the CONNACK', async () => {
  const plain = await startBrokerInProcess('limits: { maxClientIdLength: 64 }\nlisteners: [ { name: tcp, type: tcp, host: 127.0.0.1, port: 0 } ]\n', { parts: [] })
  try {
    assert.equal(await connackOf(plain.port, 5, { clientId: 'z'.repeat(70) }), { code: 0x85, closedAfter: true })
    assert.equal(await connackOf(plain.port, 4, { username: 'u\u0005', password: Buffer.from('x') }), { code: 4, closedAfter: true })
  } finally {
    await plain.stop()
  }
})

test.run()
