// Sealing through the bridge against a real mosquitto: the gateway seals
// sensor payloads so the upstream sees only ciphertext, opens sealed commands
// coming down, and drops (counts, logs) anything that does not open.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt from 'mqtt'
import { keygen } from '../../src/crypto/keys.ts'
import { writeKeyFile } from '../../src/crypto/key-file.ts'
import { seal } from '../../src/crypto/seal-envelope.ts'
import { open } from '../../src/crypto/open-envelope.ts'
import { MosquittoProcess } from '../helpers/mosquitto-process.ts'
import { openTempStore, record, sleep, startGateway, waitFor } from './bridge-fixtures.ts'
import { attachBridges } from '../../src/bridge/attach-bridges.ts'
import { createBrokerHooks } from '../../src/broker-hooks.ts'
import { parseConfigText } from '../../src/config/config-file.ts'
import { resolveConfig } from '../../src/config/load-config.ts'
import { silentLogger } from '../../src/observability/logger.ts'

const Seal = suite('sealed bridging')
let dir: string
let mosq: MosquittoProcess

Seal.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgemq-bridge-seal-'))
  mosq = await MosquittoProcess.start()
})
Seal.after(async () => {
  await mosq?.dispose()
  await rm(dir, { recursive: true, force: true })
})

Seal('sensor readings leave sealed to the consumer\'s key; sealed commands come in opened; bad ones are dropped', async () => {
  const consumer = keygen('box') // the upstream consumer's key pair
  const gateway = keygen('box') // the gateway's key pair, for commands sent down to it
  await writeKeyFile(join(dir, 'consumer.pub'), consumer.public!)
  await writeKeyFile(join(dir, 'gateway.key'), gateway.secret)
  const gw = await startGateway(`
listeners:
  - { name: tcp, type: tcp, host: 127.0.0.1, port: 0 }
persistence: { path: ${join(dir, 'data')} }
bridges:
  - name: cloud
    url: mqtt://127.0.0.1:${mosq.port}
    clientId: gw-seal
    topics:
      - { filter: sensors/#, direction: out, qos: 1, remotePrefix: site17/ }
      - { filter: cmd/#, direction: in, qos: 1, remotePrefix: site17/ }
    seal:
      - { topics: [sensors/#], mode: anonymous, recipientPublicKeyFile: ${join(dir, 'consumer.pub')} }
      - { topics: [cmd/#], mode: anonymous, secretKeyFile: ${join(dir, 'gateway.key')} }
`)
  const up = await record(mosq.port, ['site17/sensors/#'])
  const local = await record(gw.port, ['cmd/#'])
  const sensor = await mqtt.connectAsync(`mqtt://127.0.0.1:${gw.port}`)
  try {
    await waitFor(() => gw.bridges().status()[0].connected, 10_000, 'the bridge to connect')
    await sleep(200)
    await sensor.publishAsync('sensors/t1', '{"t":21.5}', { qos: 1 })
    await up.until((r) => r.messages.length === 1)
    const wire = up.messages[0].payload
    assert.not.ok(wire.includes(Buffer.from('21.5')), 'the upstream sees no plaintext')
    assert.is(Buffer.from(open(wire, { keys: [consumer.secret] }).plaintext).toString(), '{"t":21.5}', 'the consumer opens it')

    const cloud = up.client
    await cloud.publishAsync('site17/cmd/fan', Buffer.from(seal(Buffer.from('on'), { to: gateway.public! })), { qos: 1 })
    await local.until((r) => r.messages.length === 1)
    assert.is(String(local.messages[0].payload), 'on', 'the gateway opened the command')

    await cloud.publishAsync('site17/cmd/fan', 'plaintext-off', { qos: 1 })
    const tampered = Buffer.from(seal(Buffer.from('off'), { to: gateway.public! }))
    tampered[tampered.length - 1] ^= 1
    await cloud.publishAsync('site17/cmd/fan', tampered, { qos: 1 })
    await waitFor(() => gw.bridges().status()[0].counters.openFailed === 2, 10_000, 'two failed opens')
    await sleep(200)
    assert.is(local.messages.length, 1, 'nothing that failed to open was forwarded')
    assert.match(gw.bridges().status()[0].lastError ?? '', /open failed/)
    assert.is(gw.bridges().status()[0].connected, true, 'a bad payload does not cost the connection')
  } finally {
    await sensor.endAsync(true)
    await up.close()
    await local.close()
    await gw.stop()
  }
})

Seal('docs/bridge.md worked example: a sensor seals, the gateway bridges without a key, the consumer opens', async () => {
  const consumer = keygen('box')
  const gw = await startGateway(`
listeners:
  - { name: tcp, type: tcp, host: 127.0.0.1, port: 0 }
persistence: { path: ${join(dir, 'data-example')} }
bridges:
  - name: cloud
    url: mqtt://127.0.0.1:${mosq.port}
    clientId: gw-example
    topics:
      - { filter: sensors/#, direction: out, qos: 1, remotePrefix: site17/ }
`)
  const up = await record(mosq.port, ['site17/sensors/t1'])
  const sensor = await mqtt.connectAsync(`mqtt://127.0.0.1:${gw.port}`)
  try {
    await waitFor(() => gw.bridges().status()[0].connected, 10_000, 'the bridge to connect')
    const envelope = Buffer.from(seal(Buffer.from('{"t":21.5}'), { to: consumer.public! }))
    await sensor.publishAsync('sensors/t1', envelope, { qos: 1 })
    await up.until((r) => r.messages.length === 1)
    assert.ok(up.messages[0].payload.equals(envelope), 'the envelope crosses the gateway byte for byte')
    assert.is(Buffer.from(open(up.messages[0].payload, { keys: [consumer.secret] }).plaintext).toString(), '{"t":21.5}')
  } finally {
    await sensor.endAsync(true)
    await up.close()
    await gw.stop()
  }
})

Seal('a seal rule whose key file is missing fails the attach with a message naming the rule', async () => {
  const t = await openTempStore()
  const { config } = await resolveConfig({
    file: parseConfigText(`
persistence: { path: ${join(dir, 'data2')} }
bridges:
  - name: cloud
    url: mqtt://127.0.0.1:${mosq.port}
    topics: [{ filter: sensors/# }]
    seal: { topics: [sensors/#], mode: anonymous, recipientPublicKeyFile: ${join(dir, 'missing.pub')} }
`, join(dir, 'x.yaml')),
    flags: { board: 'generic' }
  })
  try {
    const handle = await attachBridges({ config, hooks: createBrokerHooks(), local: { publish: async () => {} }, store: t.store, logger: silentLogger })
    await handle.close()
    assert.unreachable('attached without its key')
  } catch (err) {
    assert.match((err as Error).message, /bridge cloud: seal rule for sensors\/#/)
  } finally {
    await t.dispose()
  }
})

Seal.run()
