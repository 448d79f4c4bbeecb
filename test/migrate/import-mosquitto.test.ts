// import-mosquitto, option by option: a mosquitto.conf that uses every mapped
// option becomes a config that edgemq check accepts, with one report row per
// input line and no secret copied into the config.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { parse } from 'yaml'
import { REPO_ROOT } from '../helpers/broker-process.ts'
import { makeTestPki } from '../auth/test-pki.ts'
import { parseMosquittoConfText, readMosquittoConf } from '../../src/migrate/mosquitto-conf.ts'
import { importMosquitto } from '../../src/migrate/import-mosquitto.ts'
import { importDynsec } from '../../src/migrate/import-dynsec.ts'

const cli = (args: string[]): ReturnType<typeof spawnSync> => spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src/cli/main.ts'), ...args], { cwd: REPO_ROOT, encoding: 'utf8' })

test('every mapped option: the config edgemq check accepts, one report row per line, the secret in a 0600 file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'edgemq-import-'))
  try {
    const pki = await makeTestPki(dir)
    await writeFile(join(dir, 'passwd'), 'alice:$7$101$o8IUd524ss8DTr/f$lAsQ3mbn3rl4aNjdPiYh6B3b74sIUpNYEL0KtlKzw8VRtUtxcYgsI2soxie3rbVKLc6DJQ9Ic+VPYLPB+NxQcg==\n', { mode: 0o600 })
    await writeFile(join(dir, 'acl'), 'user alice\ntopic readwrite sensors/#\n')
    await mkdir(join(dir, 'conf.d'))
    await mkdir(join(dir, 'var')) // Mosquitto's persistence_location exists on the machine being moved
    await writeFile(join(dir, 'conf.d', '10-limits.conf'), 'max_inflight_messages 40\nmax_queued_messages 5000\nmessage_size_limit 65536\nmax_keepalive 300\nsys_interval 30\n')
    const conf = [
      'per_listener_settings false', 'allow_anonymous false', `password_file ${join(dir, 'passwd')}`, `acl_file ${join(dir, 'acl')}`,
      `persistence true`, `persistence_location ${join(dir, 'var')}/`, 'autosave_interval 1800', 'log_dest syslog', 'log_type all', 'connection_messages true',
      `include_dir ${join(dir, 'conf.d')}`,
      'listener 1883 127.0.0.1', 'max_connections 500',
      'listener 8883 0.0.0.0', `certfile ${pki.server.cert}`, `keyfile ${pki.server.key}`, `cafile ${pki.ca}`, 'require_certificate true', 'use_identity_as_username true', 'tls_version tlsv1.2',
      'listener 9001 127.0.0.1', 'protocol websockets',
      'connection cloud', 'address broker.example.com:8883', `bridge_cafile ${pki.ca}`, 'bridge_protocol_version mqttv50', 'remote_username gw17', 'remote_password s3cret-uplink', 'remote_clientid gw17', 'cleansession false', 'keepalive_interval 45', 'restart_timeout 2:60',
      'topic sensors/# out 1 "" site17/', 'topic cmd/# in 1 "" site17/', 'try_private true', 'notifications false',
      'mount_point shouldnotmap/', ''
    ].join('\n')
    const confPath = join(dir, 'mosquitto.conf')
    await writeFile(confPath, conf)
    const out = join(dir, 'out', 'edgemq.yaml')
    const r = cli(['import-mosquitto', confPath, '-o', out])
    assert.is(r.status, 0, String(r.stderr))
    const report = String(r.stdout)
    // One row per input line (the include's five lines too).
    const inputLines = readMosquittoConf(confPath).length
    assert.is((report.match(/^\S+:\d+\s/gm) ?? []).length, inputLines)
    assert.match(report, /mount_point shouldnotmap\/\s*\n.*no edgemq equivalent/)
    assert.match(report, /remote_password <redacted>/)
    assert.not.match(report, /s3cret-uplink/)
    const text = await readFile(out, 'utf8')
    assert.not.match(text, /s3cret-uplink/)
    const pwFile = join(dir, 'out', 'bridge-cloud.password')
    assert.is(await readFile(pwFile, 'utf8'), 's3cret-uplink\n')
    assert.is((await stat(pwFile)).mode & 0o777, 0o600)
    const config = parse(text) as Record<string, any>
    assert.equal(config.listeners.map((l: any) => [l.name, l.type, l.host, l.port, l.allowAnonymous]), [
      ['listener-1883-127.0.0.1', 'tcp', '127.0.0.1', 1883, false],
      ['listener-8883-0.0.0.0', 'tls', '0.0.0.0', 8883, false],
      ['listener-9001-127.0.0.1', 'ws', '127.0.0.1', 9001, false]
    ])
    assert.is(config.listeners[0].maxConnections, 500)
    assert.is(config.listeners[1].requireCertificate, true)
    assert.is(config.listeners[1].usernameFromCertificate, 'cn')
    assert.equal(config.limits, { maxInflight: 40, maxQueuedMessages: 5000, maxPacketSize: 65536 + 65536, keepaliveMax: 300 })
    assert.equal(config.sys, { interval: '30s' })
    assert.equal(config.logging, { level: 'debug' })
    assert.is(config.persistence.path, join(dir, 'var', 'edgemq'))
    const b = config.bridges[0]
    assert.is(b.url, 'mqtts://broker.example.com:8883')
    assert.is(b.protocolVersion, 5)
    assert.equal(b.auth, { username: 'gw17', passwordFile: pwFile })
    assert.equal(b.tls, { ca: pki.ca })
    assert.equal(b.reconnect, { initialDelay: '2s', maxDelay: '60s' })
    assert.equal(b.topics, [{ filter: 'sensors/#', direction: 'out', qos: 1, remotePrefix: 'site17/' }, { filter: 'cmd/#', direction: 'in', qos: 1, remotePrefix: 'site17/' }])
    const check = cli(['check', '-c', out])
    assert.is(check.status, 0, `${String(check.stdout)}${String(check.stderr)}`)
  } finally { await rm(dir, { recursive: true, force: true }) }
})

test('no listener at all: loopback 1883 with anonymous clients, as Mosquitto 2 does', () => {
  const r = importMosquitto(parseMosquittoConfText('persistence true\n', 'm.conf'), { outDir: '/tmp' })
  assert.equal(r.config.listeners, [{ name: 'default', type: 'tcp', host: '127.0.0.1', port: 1883, allowAnonymous: true }])
})

test('a listener without allow_anonymous refuses anonymous clients (the Mosquitto 2 default)', () => {
  const r = importMosquitto(parseMosquittoConfText('listener 1883\n', 'm.conf'), { outDir: '/tmp' })
  assert.equal(r.config.listeners, [{ name: 'listener-1883', type: 'tcp', host: '0.0.0.0', port: 1883, allowAnonymous: false }])
})

test('per_listener_settings true: allow_anonymous belongs to the listener above it', () => {
  const r = importMosquitto(parseMosquittoConfText('per_listener_settings true\nlistener 1883 127.0.0.1\nallow_anonymous true\nlistener 1884\n', 'm.conf'), { outDir: '/tmp' })
  assert.equal((r.config.listeners as Array<{ allowAnonymous: boolean }>).map((l) => l.allowAnonymous), [true, false])
})

test('an include_dir loop and a missing file are clear errors, not crashes', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'edgemq-import-'))
  try {
    await writeFile(join(dir, 'a.conf'), `include_dir ${dir}\n`)
    assert.throws(() => readMosquittoConf(join(dir, 'a.conf')), /included twice/)
    const r = cli(['import-mosquitto', join(dir, 'missing.conf')])
    assert.is(r.status, 1)
    assert.match(String(r.stderr), /cannot read .*missing\.conf: ENOENT/)
    assert.not.match(String(r.stderr), /\n\s+at /)
  } finally { await rm(dir, { recursive: true, force: true }) }
})

test('dynsec: a higher-priority allow over an overlapping deny is reported, a disabled client left out', () => {
  const r = importDynsec({
    clients: [{ username: 'a', password: 'aGFzaA==', salt: 'c2FsdA==', iterations: 101, roles: [{ rolename: 'r' }] }, { username: 'off', password: 'x', salt: 'y', disabled: true }],
    roles: [{ rolename: 'r', acls: [{ acltype: 'publishClientSend', topic: 'a/b', priority: 5, allow: true }, { acltype: 'publishClientSend', topic: 'a/#', priority: 1, allow: false }] }]
  }, 'ds.json')
  assert.equal(r.passwordLines, ['a:$7$101$c2FsdA==$aGFzaA=='])
  assert.equal(r.acl.rules, [{ user: 'a', allow: 'write', topic: 'a/b' }, { user: 'a', deny: 'write', topic: 'a/#' }])
  assert.ok(r.report.some((row) => row.status === 'changed' && /stricter/.test(row.note)))
  assert.ok(r.report.some((row) => row.directive === 'client off' && /disabled/.test(row.note)))
})

test.run()
