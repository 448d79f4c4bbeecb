// Ways to reach the upstream: TLS with a private CA and a client certificate
// (mosquitto with require_certificate), a password from a file (never logged),
// a list of addresses tried in order, and WebSocket (an edgemq ws listener as
// the upstream: Debian's mosquitto 2.0.11 here has no websockets support).
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { execFileSync } from 'node:child_process'
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt from 'mqtt'
import { createLogger } from '../../src/observability/logger.ts'
import { requireTool, startBrokerInProcess } from '../helpers/broker-process.ts'
import { MosquittoProcess, freePort } from '../helpers/mosquitto-process.ts'
import { startGateway, waitFor } from './bridge-fixtures.ts'

const T = suite('bridge transports')
let dir: string
T.before(async () => { dir = await mkdtemp(join(tmpdir(), 'edgemq-bridge-tls-')); await chmod(dir, 0o755) })
T.after(async () => { await rm(dir, { recursive: true, force: true }) })

const gatewayYaml = (name: string, bridge: string): string => `
listeners:
  - { name: tcp, type: tcp, host: 127.0.0.1, port: 0 }
persistence: { path: ${join(dir, name)} }
bridges:
  - name: cloud
    clientId: gw-${name}
    connectTimeout: 2s
    reconnect: { initialDelay: 100ms, maxDelay: 500ms }
    topics: [{ filter: sensors/#, direction: out, qos: 1 }]
${bridge.split('\n').map((l) => '    ' + l).join('\n')}
`

async function roundTrip (gwPort: number, upstreamUrl: string): Promise<void> {
  const consumer = await mqtt.connectAsync(upstreamUrl)
  const got: string[] = []
  consumer.on('message', (_t, p) => got.push(String(p)))
  await consumer.subscribeAsync('sensors/#', { qos: 1 })
  const sensor = await mqtt.connectAsync(`mqtt://127.0.0.1:${gwPort}`)
  await sensor.publishAsync('sensors/x', 'through', { qos: 1 })
  await waitFor(() => got.includes('through'), 10_000, 'the message upstream')
  await sensor.endAsync(true)
  await consumer.endAsync(true)
}

T('TLS with a private CA and a client certificate; a bridge without the CA is refused', async () => {
  const openssl = requireTool('openssl', 'openssl')
  const run = (...args: string[]): void => { execFileSync(openssl, args, { cwd: dir, stdio: 'ignore' }) }
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=edgemq test CA')
  await writeFile(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n')
  run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1')
  run('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'san.ext')
  run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=gw-17')
  run('x509', '-req', '-in', 'client.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.crt', '-days', '2')
  for (const f of ['server.key', 'client.key']) await chmod(join(dir, f), 0o644) // mosquitto runs as its own user
  const tlsPort = await freePort()
  const mosq = await MosquittoProcess.start({ extraConfig: `listener ${tlsPort} 127.0.0.1\ncafile ${dir}/ca.crt\ncertfile ${dir}/server.crt\nkeyfile ${dir}/server.key\nrequire_certificate true\n` })
  const good = await startGateway(gatewayYaml('tls-good', `url: mqtts://127.0.0.1:${tlsPort}\ntls: { ca: ${dir}/ca.crt, cert: ${dir}/client.crt, key: ${dir}/client.key }`))
  const noCa = await startGateway(gatewayYaml('tls-noca', `url: mqtts://127.0.0.1:${tlsPort}\ntls: { cert: ${dir}/client.crt, key: ${dir}/client.key }`))
  try {
    await waitFor(() => good.bridges().status()[0].connected, 10_000, 'the TLS bridge to connect')
    await roundTrip(good.port, `mqtt://127.0.0.1:${mosq.port}`)
    await waitFor(() => (noCa.bridges().status()[0].lastError ?? '') !== '', 10_000, 'the unverifiable upstream to be refused')
    assert.is(noCa.bridges().status()[0].connected, false)
    assert.match(noCa.bridges().status()[0].lastError ?? '', /certificate|self.signed|verify/i)
  } finally {
    await good.stop()
    await noCa.stop()
    await mosq.dispose()
  }
})

T('username and password from a file; the password never appears in the logs; a wrong one is retried with the reason shown', async () => {
  requireTool('mosquitto_passwd', 'mosquitto')
  const secret = 'S3cret-Pa55-for-gw'
  execFileSync('mosquitto_passwd', ['-b', '-c', join(dir, 'passwd'), 'gw-17', secret])
  await chmod(join(dir, 'passwd'), 0o644)
  await writeFile(join(dir, 'cloud.pass'), secret + '\n', { mode: 0o600 })
  await writeFile(join(dir, 'wrong.pass'), 'nope\n', { mode: 0o600 })
  const authPort = await freePort()
  const mosq = await MosquittoProcess.start({ firstConfig: 'per_listener_settings true', extraConfig: `listener ${authPort} 127.0.0.1\nallow_anonymous false\npassword_file ${dir}/passwd\n` })
  const lines: string[] = []
  const logger = createLogger({ level: 'debug', sink: (l) => lines.push(l) })
  const good = await startGateway(gatewayYaml('auth-good', `url: mqtt://127.0.0.1:${authPort}\nauth: { username: gw-17, passwordFile: ${dir}/cloud.pass }`), { logger })
  const bad = await startGateway(gatewayYaml('auth-bad', `url: mqtt://127.0.0.1:${authPort}\nauth: { username: gw-17, passwordFile: ${dir}/wrong.pass }`), { logger })
  try {
    await waitFor(() => good.bridges().status()[0].connected, 10_000, 'the bridge to log in')
    await waitFor(() => bad.bridges().status()[0].counters.connectFailures >= 2, 10_000, 'the wrong password to be retried')
    assert.match(bad.bridges().status()[0].lastError ?? '', /Not authorized|Bad User Name or Password/i)
    const all = lines.join('\n') + JSON.stringify(good.bridges().status()) + JSON.stringify(bad.bridges().status())
    assert.not.ok(all.includes(secret), 'the password is not in any log line or status')
  } finally {
    await good.stop()
    await bad.stop()
    await mosq.dispose()
  }
})

T('urls are tried in order: a dead first address fails over to the next', async () => {
  const mosq = await MosquittoProcess.start()
  const dead = await freePort()
  const gw = await startGateway(gatewayYaml('failover', `urls: [mqtt://127.0.0.1:${dead}, mqtt://127.0.0.1:${mosq.port}]`))
  try {
    await waitFor(() => gw.bridges().status()[0].connected, 10_000, 'failover to the second address')
    assert.is(gw.bridges().status()[0].url, `mqtt://127.0.0.1:${mosq.port}`)
    await roundTrip(gw.port, `mqtt://127.0.0.1:${mosq.port}`)
  } finally {
    await gw.stop()
    await mosq.dispose()
  }
})

T('WebSocket upstream (ws://) carries the bridge', async () => {
  const upstream = await startBrokerInProcess(`
listeners:
  - { name: tcp, type: tcp, host: 127.0.0.1, port: 0 }
  - { name: ws, type: ws, host: 127.0.0.1, port: 0, path: /mqtt }
`)
  const gw = await startGateway(gatewayYaml('ws', `url: ws://127.0.0.1:${upstream.ports.ws}/mqtt`))
  try {
    await waitFor(() => gw.bridges().status()[0].connected, 10_000, 'the ws bridge to connect')
    await roundTrip(gw.port, `mqtt://127.0.0.1:${upstream.ports.tcp}`)
  } finally {
    await gw.stop()
    await upstream.stop()
  }
})

T.run()
