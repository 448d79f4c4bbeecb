// The http/https listener on real loopback sockets: who may read what, the
// bounds on every request (rate per IP, header size, time), 404 for unknown
// paths, https with the MQTT listeners' TLS settings, and reload (all or
// nothing, as for the MQTT listeners).
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { readFile, writeFile, chmod } from 'node:fs/promises'
import { connect } from 'node:net'
import { join } from 'node:path'
import { isEdgemqError } from '../../src/errors.ts'
import { makeTestPki } from '../auth/test-pki.ts'
import { configFrom, removeDir, tempDir, writePasswords } from '../auth/security-broker.ts'
import { connectClient } from '../auth/mqtt-connect.ts'
import { basic, bearer, httpGet, sampleOf, startFullBroker, writeToken, type FullBroker } from './http-fixtures.ts'

const Access = suite('http listener: access')
let dir: string
let gw: FullBroker
let token: string

const aclYaml = `acl:
  groups: { monitoring: [grafana], admins: [root] }
  rules:
    - { group: admins, allow: readwrite, topic: '#' }
`

Access.before(async () => {
  dir = await tempDir()
  const t = await writeToken(dir)
  token = t.token
  const passwords = await writePasswords(dir, { grafana: 'grafana-pass', root: 'root-pass' })
  gw = await startFullBroker(`listeners:
  - { name: mqtt, type: tcp, host: 127.0.0.1, port: 0 }
  - { name: web, type: http, host: 127.0.0.1, port: 0, tokenFile: ${t.path}, apiGroup: monitoring }
  - { name: closed-health, type: http, host: 127.0.0.1, port: 0, tokenFile: ${t.path}, openHealth: false }
auth:
  passwordFile: ${passwords}
  lockout: { ipFailures: 3, ignore: [] }
${aclYaml}`, dir)
})
Access.after(async () => {
  await gw?.stop()
  await removeDir(dir)
})

Access('health endpoints answer without credentials on loopback, with JSON bodies', async () => {
  const live = await httpGet(gw.port('web'), '/health/live')
  assert.is(live.status, 200)
  assert.match(String(live.headers['content-type']), /application\/json/)
  assert.is(JSON.parse(live.body).status, 'live')
  const ready = await httpGet(gw.port('web'), '/health/ready')
  assert.is(ready.status, 200)
  const body = JSON.parse(ready.body)
  assert.is(body.ready, true)
  assert.ok(body.checks.some((c: { name: string, ok: boolean }) => c.name === 'listener mqtt' && c.ok))
  assert.ok(body.checks.some((c: { name: string, ok: boolean }) => c.name === 'store' && c.ok))
})

Access('openHealth: false puts the health endpoints behind the credentials too', async () => {
  assert.is((await httpGet(gw.port('closed-health'), '/health/live')).status, 401)
  assert.is((await httpGet(gw.port('closed-health'), '/health/live', { headers: bearer(token) })).status, 200)
})

Access('metrics, the API and the page need a credential: 401 with a challenge without one, 401 with a wrong token', async () => {
  for (const path of ['/metrics', '/api/v1/status', '/api/v1/clients', '/']) {
    const r = await httpGet(gw.port('web'), path)
    assert.is(r.status, 401, path)
    assert.match(String(r.headers['www-authenticate']), /^Basic realm="edgemq"/, path)
  }
  assert.is((await httpGet(gw.port('web'), '/metrics', { headers: bearer('x'.repeat(48)) })).status, 401)
  const ok = await httpGet(gw.port('web'), '/metrics', { headers: bearer(token) })
  assert.is(ok.status, 200)
  assert.match(String(ok.headers['content-type']), /^text\/plain; version=0\.0\.4/)
  assert.is(sampleOf(ok.body, 'edgemq_up'), 1)
})

Access('HTTP Basic: a user of the apiGroup reads, a user outside it gets 403, a wrong password 401 and counts toward a ban', async () => {
  assert.is((await httpGet(gw.port('web'), '/api/v1/status', { headers: basic('grafana', 'grafana-pass') })).status, 200)
  assert.is((await httpGet(gw.port('web'), '/api/v1/status', { headers: basic('root', 'root-pass') })).status, 403)
  // On the listener without apiGroup, Basic is not accepted at all.
  assert.is((await httpGet(gw.port('closed-health'), '/metrics', { headers: basic('grafana', 'grafana-pass') })).status, 401)
  for (let i = 0; i < 3; i++) assert.is((await httpGet(gw.port('web'), '/metrics', { headers: basic('grafana', `guess-${i}`) })).status, 401)
  assert.ok(gw.logs.some((l) => l.includes('authentication failed') && l.includes('listener=web') && l.includes('user=grafana')), 'the Fail2Ban line is logged')
  // Three failures ban the IP (auth.lockout.ipFailures: 3): MQTT and HTTP alike refuse it now.
  const banned = await httpGet(gw.port('web'), '/api/v1/status', { headers: basic('grafana', 'grafana-pass') }).then((r) => r.status, () => 'closed')
  assert.is(banned, 'closed', 'a banned address is refused at accept, before any HTTP byte')
  const err = await connectClient(`mqtt://127.0.0.1:${gw.port('mqtt')}`, { reconnectPeriod: 0 }, 3000).then(() => undefined, (e: Error) => e)
  assert.ok(err !== undefined, 'MQTT from the banned address is refused too')
  await gw.broker.config // keep the broker referenced
})

Access.run()

const Bounds = suite('http listener: bounds on every request')
let bdir: string
let bgw: FullBroker
let btoken: string

Bounds.before(async () => {
  bdir = await tempDir()
  const t = await writeToken(bdir)
  btoken = t.token
  bgw = await startFullBroker(`listeners:
  - { name: mqtt, type: tcp, host: 127.0.0.1, port: 0 }
  - { name: web, type: http, host: 127.0.0.1, port: 0, tokenFile: ${t.path}, requestRate: 0.5, requestBurst: 4, requestTimeout: 1s, maxHeaderSize: 2KB }
`, bdir)
})
Bounds.after(async () => {
  await bgw?.stop()
  await removeDir(bdir)
})

Bounds('unknown paths get 404 and other methods 405, even with a good token', async () => {
  const r = await httpGet(bgw.port('web'), '/admin', { headers: bearer(btoken) })
  assert.is(r.status, 404)
  assert.is(JSON.parse(r.body).error, 'not found')
  const post = await httpGet(bgw.port('web'), '/metrics', { headers: bearer(btoken), method: 'POST' })
  assert.is(post.status, 405)
  assert.is(post.headers.allow, 'GET, HEAD')
})

Bounds('more requests from one IP than the burst get 429 with Retry-After', async () => {
  // The bucket may hold a token or two from the previous test: send plenty.
  const statuses: number[] = []
  for (let i = 0; i < 8; i++) statuses.push((await httpGet(bgw.port('web'), '/health/live')).status)
  assert.ok(statuses.includes(429), `statuses ${statuses.join(',')}`)
  const limited = await httpGet(bgw.port('web'), '/health/live')
  assert.is(limited.status, 429)
  assert.is(limited.headers['retry-after'], '1')
})

Bounds('a header block over maxHeaderSize gets 431 and the socket closes', async () => {
  const answer = await rawRequest(bgw.port('web'), `GET /health/live HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(4096)}\r\n\r\n`, 10_000)
  assert.match(answer, /^HTTP\/1\.1 431 /)
})

Bounds('a request trickling its headers is cut off after requestTimeout', async () => {
  const started = performance.now()
  // Sends half a request line and then nothing: a slowloris.
  const answer = await rawRequest(bgw.port('web'), 'GET /health/live HTTP/1.1\r\nHost: x\r\n', 30_000)
  const seconds = (performance.now() - started) / 1000
  assert.ok(answer === '' || /^HTTP\/1\.1 408 /.test(answer), `answer ${JSON.stringify(answer.slice(0, 40))}`)
  assert.ok(seconds < 25, `cut off after ${seconds.toFixed(1)} s (requestTimeout 1 s; Node checks every few seconds)`)
})

Bounds.run()

/** Writes raw bytes, then collects the answer until the server closes (or `timeoutMs`: then fails). */
async function rawRequest (port: number, text: string, timeoutMs: number): Promise<string> {
  return await new Promise<string>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let got = ''
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`the server kept the socket open for ${timeoutMs} ms`)) }, timeoutMs)
    socket.on('data', (d: Buffer) => { got += d.toString('latin1') })
    socket.on('close', () => { clearTimeout(timer); resolve(got) })
    socket.on('error', () => {})
    socket.write(text)
  })
}

const Files = suite('http listener: token file, https and reload')
let fdir: string

Files.before(async () => { fdir = await tempDir() })
Files.after(async () => { await removeDir(fdir) })

Files('a token file readable by others stops the start with the fix (chmod 600)', async () => {
  const t = await writeToken(fdir, 'loose-token', 0o644)
  const config = await configFrom(`listeners:\n  - { name: web, type: http, host: 127.0.0.1, port: 0, tokenFile: ${t.path} }\n`, join(fdir, 'loose'))
  const { startBroker } = await import('../../src/broker.ts')
  const { PARTS } = await import('../../src/parts.ts')
  const { createLogger } = await import('../../src/observability/logger.ts')
  const err = await startBroker(config, createLogger({ level: 'error', sink: () => {} }), PARTS).then(() => undefined, (e: Error) => e)
  assert.ok(err !== undefined && isEdgemqError(err), 'the start fails with an edgemq error')
  assert.match(err?.message ?? '', /tokenFile .*loose-token has mode 644: chmod 600/)
})

Files('http-only keys on an MQTT listener are a config error naming the key and the fix', async () => {
  const err = await configFrom('listeners:\n  - { name: m, type: tcp, host: 127.0.0.1, port: 0, tokenFile: /x }\n', join(fdir, 'bad')).then(() => undefined, (e: Error) => e)
  assert.match(err?.message ?? '', /listeners\[0\] \(tcp\) sets tokenFile, which only http and https listeners read/)
})

Files('https serves with the listener certificate, and a reload with a bad token file changes nothing', async () => {
  const pki = await makeTestPki(fdir)
  const t = await writeToken(fdir, 'tls-token')
  const yaml = (extra: string): string => `listeners:
  - { name: mqtt, type: tcp, host: 127.0.0.1, port: 0 }
  - { name: secure, type: https, host: 127.0.0.1, port: 0, cert: ${pki.server.cert}, key: ${pki.server.key}, minVersion: TLSv1.3, tokenFile: ${t.path}${extra} }
`
  const gw = await startFullBroker(yaml(''), join(fdir, 'tls'))
  try {
    const ca = await readFile(pki.ca)
    const r = await httpGet(gw.port('secure'), '/metrics', { headers: bearer(t.token), ca })
    assert.is(r.status, 200)
    const expiry = sampleOf(r.body, 'edgemq_certificate_expiry_timestamp_seconds', { owner: 'listener', name: 'secure' })
    assert.ok(expiry !== undefined && expiry * 1000 > Date.now(), 'the certificate expiry is exported')
    assert.is(sampleOf(r.body, 'edgemq_listener_up', { listener: 'secure', type: 'https' }), 1)

    // A reload whose token file is now readable by others is refused as a whole.
    const port = gw.port('secure')
    await chmod(t.path, 0o644)
    const next = await configFrom(yaml(', requestBurst: 30'), join(fdir, 'tls'))
    const err = await gw.broker.reload(next).then(() => undefined, (e: Error) => e)
    assert.match(err?.message ?? '', /has mode 644/)
    assert.is(gw.port('secure'), port, 'the listener did not restart')
    assert.is((gw.broker.config.listeners[1].requestBurst as number), 20, 'the old config stays')
    assert.is((await httpGet(port, '/metrics', { headers: bearer(t.token), ca })).status, 200, 'the old token still reads')

    // Fixed and given a new token, the reload applies: the listener restarts and the new token reads.
    await chmod(t.path, 0o600)
    const fresh = 'f'.repeat(40)
    await writeFile(t.path, fresh)
    await gw.broker.reload(next)
    assert.is((await httpGet(gw.port('secure'), '/metrics', { headers: bearer(fresh), ca })).status, 200)
    assert.is((await httpGet(gw.port('secure'), '/metrics', { headers: bearer(t.token), ca })).status, 401, 'the old token no longer reads')
  } finally {
    await gw.stop()
  }
})

Files.run()
