// A will that a crash left behind (the broker killed with -9 while its client
// was connected) is published by aedes's will sweep after the next start. It
// goes out only if the ACL in force then still lets its owner (the user its
// client id is bound to) publish it; otherwise it is dropped and deleted
// (issue 14: a permission removed while the broker was down applies too).
// The built bundle, real clients, a real kill -9.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFileSync } from 'node:child_process'
import { chmod, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { MqttClient } from 'mqtt'
import { connectClient, collectTopics } from '../auth/mqtt-connect.ts'
import { hashPassword } from '../../src/auth/password-hash.ts'
import { buildBundle } from '../helpers/built-bundle.ts'
import { startBrokerProcess, type BrokerProcessHandle } from '../helpers/broker-process.ts'

let dir: string
let bundle: string
const clients: MqttClient[] = []

test.before(async () => {
  // The bundle of this tree, built now: a stale dist/ must not pass for the fix.
  const built = await buildBundle()
  dir = built.dir
  bundle = built.main
})
test.after.each(() => { for (const c of clients.splice(0)) c.end(true) })
test.after(async () => { await rm(dir, { recursive: true, force: true }) })

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }
async function waitUntil (what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const t0 = Date.now()
  while (!check()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

/** A broker with alice (group ops may write status/#) and bob (reads status/#), on `data`. */
async function setup (name: string): Promise<{ acl: string, start: () => Promise<BrokerProcessHandle>, data: string }> {
  const pw = join(dir, `passwd-${name}`)
  const lines = [`alice:${await hashPassword(Buffer.from('alice-pass'), { N: 1024 })}`, `bob:${await hashPassword(Buffer.from('bob-pass'), { N: 1024 })}`]
  await writeFile(pw, lines.join('\n') + '\n', { mode: 0o600 })
  await chmod(pw, 0o600)
  const acl = join(dir, `acl-${name}.yaml`)
  const data = join(dir, `data-${name}`)
  // sys.interval sets aedes's heartbeat: its will sweep runs every 4 intervals (800 ms here)
  const config = `auth: { passwordFile: ${pw}, aclFile: ${acl}, lockout: { enabled: false } }\npersistence: { path: ${data} }\nsys: { interval: 200ms }\nlisteners: [ { name: lan, type: tcp, host: 127.0.0.1, port: 0, allowAnonymous: false } ]\n`
  return { acl, data, start: async () => await startBrokerProcess({ bundle, config }) }
}
const aclText = (ops: string): string => `groups: { ops: ${ops} }\nrules:\n  - { group: ops, allow: readwrite, topic: "status/#" }\n  - { user: bob, allow: read, topic: "status/#" }\n`

async function login (port: number, user: string, extra: Record<string, unknown> = {}): Promise<MqttClient> {
  const c = await connectClient(`mqtt://127.0.0.1:${port}`, { username: user, password: `${user}-pass`, ...extra })
  clients.push(c)
  return c
}

/** alice connects with a will on status/alice (retained: bob sees it however late he subscribes); the broker is killed with -9 while she is connected. */
async function leaveWillByCrash (start: () => Promise<BrokerProcessHandle>): Promise<void> {
  const b = await start()
  try {
    await login(b.port, 'alice', { clientId: 'alice-gw', will: { topic: 'status/alice', payload: Buffer.from('gone'), qos: 1, retain: true } })
    await sleep(500) // the will and the client-id binding reach the store (sync: batch)
    await b.kill('SIGKILL')
  } finally {
    await b.stop()
  }
}

const storeWills = (data: string): number => {
  const out = execFileSync(process.execPath, [bundle, 'store', 'check', '--path', data, '--json'], { encoding: 'utf8' })
  return (JSON.parse(out) as { counts: Record<string, number> }).counts.wills ?? 0
}

test('control: a will left by a kill -9 is published at the next start while its owner may still publish it', async () => {
  const { acl, start, data } = await setup('kept')
  await writeFile(acl, aclText('[alice]'))
  await leaveWillByCrash(start)
  assert.is(storeWills(data), 1, 'the crash left the will in the store')
  const b = await start()
  try {
    const bob = await login(b.port, 'bob')
    const got = collectTopics(bob)
    await bob.subscribeAsync('status/#', { qos: 1 })
    await waitUntil('the will of the earlier run', () => got.includes('status/alice'))
  } finally {
    await b.stop()
  }
})

test('a will left by a kill -9 whose owner the ACL no longer lets publish it is dropped and deleted, not published', async () => {
  const { acl, start, data } = await setup('dropped')
  await writeFile(acl, aclText('[alice]'))
  await leaveWillByCrash(start)
  await writeFile(acl, aclText('[]')) // alice left ops while the broker was down
  const b = await start()
  try {
    const bob = await login(b.port, 'bob')
    const got = collectTopics(bob)
    await bob.subscribeAsync('status/#', { qos: 1 })
    // the sweep (every 800 ms) either publishes the will or drops it
    await waitUntil('the will sweep', () => got.length > 0 || b.stderr().includes('will of an earlier run dropped'))
    await sleep(1_000)
    assert.equal(got, [], 'nothing of alice reached bob')
    assert.match(b.stderr(), /will of an earlier run dropped client=alice-gw user=alice topic=status\/alice/)
  } finally {
    await b.stop()
  }
  assert.is(storeWills(data), 0, 'the dropped will is deleted from the store')
})

test.run()
