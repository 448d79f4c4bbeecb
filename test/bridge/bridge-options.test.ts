import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { parseConfigText } from '../../src/config/config-file.ts'
import { resolveConfig } from '../../src/config/load-config.ts'
import { readBridgeSecrets, toBridgeSpecs } from '../../src/bridge/bridge-config.ts'
import { isEdgemqError } from '../../src/errors.ts'
import { BRIDGE_OPTIONS } from '../../src/bridge/bridge-options.ts'
import type { EdgemqConfig } from '../../src/config/types.ts'

async function load (yaml: string): Promise<ReturnType<typeof toBridgeSpecs>> {
  const { config } = await resolveConfig({ file: parseConfigText(yaml, 'site.yaml'), flags: { board: 'generic' } })
  return toBridgeSpecs(config)
}

async function problems (yaml: string): Promise<string> {
  try {
    await load(yaml)
  } catch (err) {
    assert.ok(isEdgemqError(err, 'EDGEMQ_ERR_CONFIG_INVALID'), String(err))
    return (err as Error).message
  }
  assert.unreachable('the config was accepted')
  return ''
}

test('the issue\'s example config loads with every default filled in', async () => {
  const [b] = await load(`
bridges:
  - name: cloud
    url: mqtts://mqtt.example.com:8883
    protocolVersion: 5
    clientId: gw-17
    auth: { username: gw-17, passwordFile: /etc/edgemq/cloud.pass }
    topics:
      - { filter: sensors/#, direction: out, qos: 1, remotePrefix: site17/ }
      - { filter: cmd/#, direction: in, qos: 1, localPrefix: "", remotePrefix: site17/ }
    queue: { maxBytes: 64MB, whenFull: drop-oldest }
    seal: { topics: [sensors/#], recipientPublicKeyFile: /etc/edgemq/cloud.pub }
`)
  assert.equal(b.urls, ['mqtts://mqtt.example.com:8883'])
  assert.is(b.queue.maxBytes, 64 * 1024 * 1024)
  assert.is(b.queue.maxMessages, 1_000_000)
  assert.is(b.keepalive, 60_000)
  assert.is(b.cleanSession, false)
  assert.is(b.tls.rejectUnauthorized, true)
  assert.equal(b.topics[1], { filter: 'cmd/#', direction: 'in', qos: 1, localPrefix: '', remotePrefix: 'site17/', retain: 'keep' })
  assert.is(b.seal[0].mode, 'anonymous')
  assert.equal(b.reconnect, { initialDelay: 1000, maxDelay: 60_000 })
})

test('no bridges by default', async () => {
  assert.equal(await load('{}'), [])
})

test('bad values are all reported with file:line and the fix', async () => {
  const msg = await problems(`
bridges:
  - name: "a b"
    url: http://x
    keepalive: soon
    topics:
      - { filter: a/#/b, qos: 3, direction: sideways }
    queue: { whenFull: explode, maxBytes: lots }
`)
  assert.match(msg, /bridges\[0\]\.name must be letters, digits/)
  assert.match(msg, /site\.yaml:3/)
  assert.match(msg, /url must be a URL with scheme mqtt/)
  assert.match(msg, /keepalive must be a duration/)
  assert.match(msg, /topics\[0\]\.filter may use # only as a whole last level/)
  assert.match(msg, /topics\[0\]\.qos must be 0, 1 or 2/)
  assert.match(msg, /direction must be in, out or both/)
  assert.match(msg, /queue\.whenFull must be drop-oldest or refuse-new/)
  assert.match(msg, /queue\.maxBytes must be a size/)
})

test('a password written in the config is refused; credentials in the URL are refused', async () => {
  const msg = await problems(`
bridges:
  - name: cloud
    url: mqtt://user:pw@127.0.0.1:1883
    auth: { username: u, password: hunter2 }
    topics: [{ filter: a }]
`)
  assert.match(msg, /without credentials/)
  assert.match(msg, /auth\.password is not accepted: put the password in a file/)
})

test('prefixes may not hold wildcards and a bridge needs at least one rule', async () => {
  const msg = await problems(`
bridges:
  - { name: x, url: mqtt://127.0.0.1:1, topics: [{ filter: a, remotePrefix: "site/+/" }] }
  - { name: y, url: mqtt://127.0.0.1:1, topics: [] }
`)
  assert.match(msg, /remotePrefix must not contain \+ or #/)
  assert.match(msg, /topics must be a non-empty list/)
})

test('required names, unique names, url or urls: checked for the whole list', () => {
  const bad = [
    { url: 'mqtt://127.0.0.1:1', topics: [{ filter: 'a' }] },
    { name: 'x', topics: [{ filter: 'a' }] },
    { name: 'x', url: 'mqtt://127.0.0.1:1', urls: ['mqtt://127.0.0.1:2'], topics: [{ filter: 'a' }] }
  ]
  let msg = ''
  try { toBridgeSpecs({ bridges: bad } as unknown as EdgemqConfig) } catch (err) { msg = (err as Error).message }
  assert.match(msg, /bridges\[0\]: name is required/)
  assert.match(msg, /bridges\[1\] \(x\): url is required/)
  assert.match(msg, /bridges\[2\] \(x\): name must be unique/)
  assert.match(msg, /sets both url and urls/)
  assert.ok(BRIDGE_OPTIONS[0].check?.(bad)?.includes('name is required'), 'the option row carries the same check for the loader')
})

test('secrets: a missing password file fails naming the file; passwordEnv reads the environment', async () => {
  const [b] = await load(`
bridges:
  - { name: c, url: mqtt://127.0.0.1:1, auth: { username: u, passwordFile: /nonexistent/pass }, topics: [{ filter: a }] }
`)
  try { await readBridgeSecrets(b); assert.unreachable() } catch (err) {
    assert.ok(isEdgemqError(err, 'EDGEMQ_ERR_BRIDGE_FAILED'))
    assert.match((err as Error).message, /cannot read auth\.passwordFile \/nonexistent\/pass: ENOENT/)
  }
  const [e] = await load(`
bridges:
  - { name: c, url: mqtt://127.0.0.1:1, auth: { username: u, passwordEnv: GW_PASS }, topics: [{ filter: a }] }
`)
  assert.equal((await readBridgeSecrets(e, { GW_PASS: 'pw' })).password, Buffer.from('pw'))
  try { await readBridgeSecrets(e, {}); assert.unreachable() } catch (err) { assert.match((err as Error).message, /GW_PASS \(auth\.passwordEnv\) is not set/) }
})

test.run()
