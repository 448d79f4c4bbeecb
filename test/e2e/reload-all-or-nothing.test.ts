// A refused reload changes nothing (issue 15: a SIGHUP with a new ACL and a
// TLS certificate that did not exist logged "security reloaded", then "reload
// refused", and the new ACL was live). A broker with every part runs config A;
// config B changes every part at once (ACL, limits, throttle, a bridge, a
// listener, the core's maxPacketSize). B is then offered with one part
// refusing in turn; after each refusal every part must still show A, seen
// from outside (a real client's SUBSCRIBE, the control socket, the bound
// addresses). Finally B itself is accepted and every part shows B, so each
// observation can tell A from B.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createServer, type Server } from 'node:net'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt from 'mqtt'
import { startBroker, type AttachPart, type EdgemqBroker } from '../../src/broker.ts'
import { PARTS } from '../../src/parts.ts'
import { parseConfigText } from '../../src/config/config-file.ts'
import { resolveConfig } from '../../src/config/load-config.ts'
import { createLogger } from '../../src/observability/logger.ts'
import { callControl } from '../../src/control/control-client.ts'
import type { EdgemqConfig } from '../../src/config/types.ts'

let dir = ''
let broker: EdgemqBroker
const logs: string[] = []
// A part that refuses when told to: stands for any part, first or last.
let refuseAt: 'first' | 'last' | undefined
const probePart = (where: 'first' | 'last'): AttachPart => async () => ({
  prepareReload: async () => {
    if (refuseAt === where) throw new Error(`probe part (${where}) refuses`)
    return { commit: () => {} }
  }
})

async function load (yaml: string): Promise<EdgemqConfig> {
  const file = parseConfigText(`persistence: { path: ${join(dir, 'data')} }\ncontrol: { socket: ${join(dir, 'control.sock')} }\nboard: generic\n${yaml}`, join(dir, 'site.yaml'))
  return (await resolveConfig({ file })).config
}

const A = (): string => `
auth: { aclFile: ${join(dir, 'acl.yaml')} }
listeners:
  - { name: local, type: tcp, host: 127.0.0.1, port: 0 }
limits: { maxPacketSize: 256KB, maxSubscriptionsPerClient: 1000 }
`
interface Change { acl?: string, listeners?: string, throttle?: string, bridges?: string }
const B = (c: Change = {}): string => `
auth: { aclFile: ${c.acl ?? join(dir, 'acl.yaml')} }
listeners:
  - { name: local, type: tcp, host: 127.0.0.1, port: 0 }
  - { name: extra, type: tcp, host: 127.0.0.1, port: 0 }
${c.listeners ?? ''}
limits: { maxPacketSize: 128KB, maxSubscriptionsPerClient: 7 }
throttle:
  client: { inboundMessagesPerSecond: 50 }
${c.throttle ?? ''}
bridges:
  - { name: cloud, url: "mqtt://127.0.0.1:1", topics: [ { filter: "b/#", direction: out } ] ${c.bridges ?? ''} }
`
let port = 0

/** What every part shows from outside. */
async function observe (): Promise<Record<string, unknown>> {
  const sock = join(dir, 'control.sock')
  const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: 'observer', reconnectPeriod: 0 })
  // MQTT.js rejects a SUBACK 0x80 with "Subscribe error"
  const acl = await c.subscribeAsync('a/x', { qos: 1 }).then((g) => g[0].qos === 128 ? 'a/x refused' : 'a/x granted', (err: Error) => /Subscribe error/.test(err.message) ? 'a/x refused' : err.message)
  await c.endAsync()
  const limits = await callControl(sock, 'limits.get') as { limits: { maxSubscriptionsPerClient: number } }
  const throttle = await callControl(sock, 'throttle.get') as { settings: { client: { inboundMessagesPerSecond: number } } }
  const bridges = await callControl(sock, 'bridges.status') as Array<{ name: string }>
  return {
    acl,
    listeners: broker.addresses().map((a) => a.name).sort().join(','),
    maxPacketSize: broker.config.limits.maxPacketSize,
    maxSubscriptionsPerClient: limits.limits.maxSubscriptionsPerClient,
    throttle: throttle.settings.client.inboundMessagesPerSecond,
    bridges: bridges.map((b) => b.name).join(',')
  }
}

let stateA: Record<string, unknown>

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgemq-reload-'))
  await writeFile(join(dir, 'acl.yaml'), 'rules:\n  - { allow: readwrite, topic: "#" }\n')
  await writeFile(join(dir, 'acl-bad.yaml'), 'rules:\n  - { allow: sometimes, topic: "#" }\n')
  broker = await startBroker(await load(A()), createLogger({ level: 'debug', sink: (l) => logs.push(l) }), [probePart('first'), ...PARTS, probePart('last')])
  port = broker.addresses()[0].port
  stateA = await observe()
  assert.equal(stateA, { acl: 'a/x granted', listeners: 'local', maxPacketSize: 256 * 1024, maxSubscriptionsPerClient: 1000, throttle: 0, bridges: '' })
  // The operator edits the ACL file in place, as in the issue: from now on the
  // file on disk says B, and only a committed reload may make it live.
  await writeFile(join(dir, 'acl.yaml'), 'rules:\n  - { allow: readwrite, topic: "b/#" }\n')
})

test.after(async () => {
  await broker.close()
  await rm(dir, { recursive: true, force: true })
})

async function refused (yaml: string, reason: RegExp): Promise<void> {
  const mark = logs.length
  try {
    await broker.reload(await load(yaml))
    assert.unreachable('the reload was accepted')
  } catch (err) {
    assert.instance(err, Error)
    assert.match((err as Error).message, reason)
  }
  assert.equal(await observe(), stateA, 'every part still runs config A')
  const since = logs.slice(mark).join('\n')
  assert.not.match(since, /security reloaded|bridge started|listener stopped|config reloaded/, since)
}

test('security refuses (an ACL file that does not parse): nothing changes', async () => {
  await refused(B({ acl: join(dir, 'acl-bad.yaml') }), /security: .*acl-bad\.yaml/)
})

test('the listeners refuse in prepare (a TLS certificate that does not exist, the issue\'s case): nothing changes, the new ACL is not live', async () => {
  await refused(B({ listeners: `  - { name: tls, type: tls, host: 127.0.0.1, port: 0, cert: ${join(dir, 'none.crt')}, key: ${join(dir, 'none.key')} }` }), /listeners: listener tls: cannot read cert/)
})

test('the listeners fail in commit (a port another process took): the core and the listeners go back, no part commits', async () => {
  const server: Server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const taken = (server.address() as { port: number }).port
  try {
    await refused(B({ listeners: `  - { name: taken, type: tcp, host: 127.0.0.1, port: ${taken} }` }), /listeners: .*EADDRINUSE/)
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
})

test('limits/throttle refuse (a throttle rate for a listener that does not exist): nothing changes', async () => {
  await refused(B({ throttle: '  listeners: { lan: { connectionRate: 5 } }' }), /limits: throttle\.listeners names "lan", not a listener of this config/)
})

test('the bridges refuse (a bridge password file that does not exist): nothing changes', async () => {
  await refused(B({ bridges: `, auth: { username: gw, passwordFile: ${join(dir, 'nope.pass')} }` }), /bridges: bridge cloud: cannot read auth\.passwordFile/)
})

test('the first and the last part refuse in turn: nothing changes', async () => {
  for (const where of ['first', 'last'] as const) {
    refuseAt = where
    try {
      await refused(B(), new RegExp(`probe part \\(${where}\\) refuses`))
    } finally {
      refuseAt = undefined
    }
  }
})

test('every problem of a refused reload is reported at once', async () => {
  try {
    await broker.reload(await load(B({ acl: join(dir, 'acl-bad.yaml'), throttle: '  listeners: { lan: { connectionRate: 5 } }', bridges: `, auth: { username: gw, passwordFile: ${join(dir, 'nope.pass')} }` })))
    assert.unreachable('accepted')
  } catch (err) {
    const problems = (err as { problems?: string[] }).problems ?? []
    assert.ok(problems.some((p) => p.startsWith('security:')), problems.join('\n'))
    assert.ok(problems.some((p) => p.startsWith('limits:')), problems.join('\n'))
    assert.ok(problems.some((p) => p.startsWith('bridges:')), problems.join('\n'))
  }
})

test('throttle.set listener=NAME refuses a listener that does not exist (issue 15), and accepts one that does', async () => {
  const sock = join(dir, 'control.sock')
  try {
    await callControl(sock, 'throttle.set', { listener: 'lan', connectionRate: 5 })
    assert.unreachable('accepted an unknown listener')
  } catch (err) {
    assert.match((err as Error).message, /"lan", not a listener of this config: use one of local/)
  }
  const after = await callControl(sock, 'throttle.get') as { settings: { listeners: Record<string, unknown> } }
  assert.equal(after.settings.listeners, {})
  await callControl(sock, 'throttle.set', { listener: 'local', connectionRate: 5 })
  const set = await callControl(sock, 'throttle.get') as { settings: { listeners: Record<string, { connectionRate: number }> } }
  assert.is(set.settings.listeners.local.connectionRate, 5)
})

test('config B itself is accepted and every part shows it', async () => {
  await broker.reload(await load(B()))
  assert.equal(await observe(), { acl: 'a/x refused', listeners: 'extra,local', maxPacketSize: 128 * 1024, maxSubscriptionsPerClient: 7, throttle: 50, bridges: 'cloud' })
})

test.run()
