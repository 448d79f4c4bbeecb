// Differential proof of `edgemq import-mosquitto`: real Mosquitto started with
// the original files and edgemq started with the imported ones give the same
// allow/deny outcome for the same matrix of clients x topics x actions
// (connect, publish, subscribe and receive), and bridged topics arrive
// upstream under the same names. Intended differences are listed, with reasons.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { chmod, copyFile, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import mqtt from 'mqtt'
import { REPO_ROOT, requireTool } from '../helpers/broker-process.ts'
import { makeTestPki } from '../auth/test-pki.ts'
import { differences, freePort, mosquittoPasswd, rm, runMatrix, sleep, startImported, startMosquitto, tempDir, type MatrixClient } from './differential-harness.ts'

const cli = (args: string[]): ReturnType<typeof spawnSync> => spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src/cli/main.ts'), ...args], { cwd: REPO_ROOT, encoding: 'utf8' })

const USERS = { alice: 'alice-pw', bob: 'bob-pw', admin: 'admin-pw', roger: 'roger-pw' }
const observer: MatrixClient = { label: 'admin', clientId: 'observer', username: 'admin', password: 'admin-pw' }
const clients: MatrixClient[] = [
  { label: 'alice', clientId: 'alice-c', username: 'alice', password: 'alice-pw' },
  { label: 'bob', clientId: 'bob-c', username: 'bob', password: 'bob-pw' },
  { label: 'roger', clientId: 'roger-c', username: 'roger', password: 'roger-pw' },
  { label: 'anonymous', clientId: 'anon-c' },
  { label: 'alice-wrong-password', clientId: 'alice-bad', username: 'alice', password: 'not-it' }
]
const topics = ['public/news', 'sensors/alice/t', 'sensors/bob/t', 'cmd/reboot', 'cmd/secret', 'devices/alice/status', 'devices/bob/status', 'devices/alice-c/in', 'foo/bar', 'other/x']

test('acl_file + password_file (Debian aclfile.example and the man page forms): the same outcome for every cell', async () => {
  const dir = await tempDir()
  try {
    const pw = join(dir, 'passwd')
    mosquittoPasswd(pw, USERS)
    const acl = join(dir, 'acl')
    // Debian's own example first, then the man page's forms: deny, per-user, pattern %u / %c.
    await copyFile('/usr/share/doc/mosquitto/examples/aclfile.example', acl)
    await writeFile(acl, (await readFile(acl, 'utf8')) + [
      'topic read public/#',
      'user alice', 'topic readwrite sensors/alice/#', 'topic read cmd/#', 'topic deny cmd/secret',
      'user bob', 'topic write sensors/bob/#', 'topic read sensors/#',
      'user admin', 'topic readwrite #',
      'pattern write devices/%u/status', 'pattern read devices/%c/in', ''
    ].join('\n'))
    const port = await freePort()
    const conf = join(dir, 'mosquitto.conf')
    await writeFile(conf, `per_listener_settings false\nlistener ${port} 127.0.0.1\nallow_anonymous true\npassword_file ${pw}\nacl_file ${acl}\n`)
    const imported = cli(['import-mosquitto', conf, '-o', join(dir, 'edgemq.yaml')])
    assert.is(imported.status, 0, String(imported.stderr))
    assert.match(String(imported.stdout), /5 mapped/)
    const mosq = await startMosquitto(await readFile(conf, 'utf8'), dir)
    let fromMosquitto
    try { fromMosquitto = await runMatrix(port, observer, clients, topics) } finally { await mosq.stop() }
    const edgemq = await startImported(join(dir, 'edgemq.yaml'))
    let fromEdgemq
    try { fromEdgemq = await runMatrix(edgemq.port, observer, clients, topics) } finally { await edgemq.stop() }
    // The matrix really tells allow from deny: both outcomes occur.
    assert.ok(Object.values(fromMosquitto.publish).includes(true) && Object.values(fromMosquitto.publish).includes(false))
    assert.ok(Object.values(fromMosquitto.receive).includes(true) && Object.values(fromMosquitto.receive).includes(false))
    assert.equal(differences(fromMosquitto, fromEdgemq), [])
  } finally { await rm(dir, { recursive: true, force: true }) }
})

test('dynamic-security JSON: clients, groups, roles, priorities and default access give the same outcome', async () => {
  const dir = await tempDir()
  try {
    const ds = join(dir, 'dynamic-security.json')
    const init = spawnSync(requireTool('mosquitto_ctrl', 'mosquitto'), ['dynsec', 'init', ds, 'admin', 'admin-pw'], { encoding: 'utf8' })
    assert.is(init.status, 0, init.stderr)
    const port = await freePort()
    const conf = join(dir, 'mosquitto.conf')
    await writeFile(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\nplugin /usr/lib/${spawnSync('dpkg-architecture', ['-qDEB_HOST_MULTIARCH'], { encoding: 'utf8' }).stdout.trim()}/mosquitto_dynamic_security.so\nplugin_opt_config_file ${ds}\n`)
    const mosq = await startMosquitto(await readFile(conf, 'utf8'), dir)
    let fromMosquitto
    try {
      // Made through the plugin's own API, as an operator would.
      const ctl = (...words: string[]): void => {
        const r = spawnSync('mosquitto_ctrl', ['-h', '127.0.0.1', '-p', String(port), '-u', 'admin', '-P', 'admin-pw', 'dynsec', ...words], { encoding: 'utf8' })
        assert.is(r.status, 0, `${words.join(' ')}: ${r.stderr}`)
      }
      ctl('createClient', 'alice', '-p', 'alice-pw')
      ctl('createClient', 'bob', '-p', 'bob-pw')
      ctl('createClient', 'roger', '-p', 'roger-pw')
      ctl('createRole', 'sensor')
      ctl('addRoleACL', 'sensor', 'publishClientSend', 'sensors/%u/#', 'allow', '5')
      ctl('addRoleACL', 'sensor', 'subscribePattern', 'cmd/#', 'allow', '1')
      ctl('addRoleACL', 'sensor', 'publishClientReceive', 'cmd/secret', 'deny', '10')
      ctl('addRoleACL', 'sensor', 'publishClientSend', 'devices/%u/status', 'allow', '1')
      ctl('createRole', 'reader')
      ctl('addRoleACL', 'reader', 'subscribePattern', 'sensors/#', 'allow', '1')
      ctl('addRoleACL', 'reader', 'subscribePattern', 'devices/%c/in', 'allow', '1')
      ctl('createGroup', 'sensors')
      ctl('addGroupRole', 'sensors', 'sensor')
      ctl('addGroupClient', 'sensors', 'alice')
      ctl('addGroupClient', 'sensors', 'bob')
      ctl('addClientRole', 'bob', 'reader', '2')
      ctl('createRole', 'public')
      ctl('addRoleACL', 'public', 'subscribePattern', 'public/#', 'allow', '1')
      ctl('createGroup', 'anon')
      ctl('addGroupRole', 'anon', 'public')
      ctl('setAnonymousGroup', 'anon')
      ctl('createRole', 'everything')
      ctl('addRoleACL', 'everything', 'publishClientSend', '#', 'allow', '1')
      ctl('addRoleACL', 'everything', 'subscribePattern', '#', 'allow', '1')
      ctl('addClientRole', 'admin', 'everything', '1')
      await sleep(300)
      fromMosquitto = await runMatrix(port, observer, clients, topics)
    } finally { await mosq.stop() }
    const imported = cli(['import-mosquitto', conf, '-o', join(dir, 'edgemq.yaml')])
    assert.is(imported.status, 0, String(imported.stderr))
    assert.match(String(imported.stdout), /client alice\s*\n.*same password/)
    assert.match(String(imported.stdout), /\$CONTROL/) // reported as not supported
    const edgemq = await startImported(join(dir, 'edgemq.yaml'))
    let fromEdgemq
    try { fromEdgemq = await runMatrix(edgemq.port, observer, clients, topics) } finally { await edgemq.stop() }
    assert.ok(Object.values(fromMosquitto.receive).includes(true) && Object.values(fromMosquitto.receive).includes(false))
    // Intended: Mosquitto 2.0 (Debian's 2.0.11) matches %u in dynsec ACL topics literally; 2.1
    // substitutes it (mosquitto issues #2222, #3191), and so do the import and edgemq.
    const intended = [
      'publish alice -> sensors/alice/t: mosquitto false, edgemq true',
      'publish alice -> devices/alice/status: mosquitto false, edgemq true',
      'publish bob -> sensors/bob/t: mosquitto false, edgemq true',
      'publish bob -> devices/bob/status: mosquitto false, edgemq true'
    ]
    assert.equal(differences(fromMosquitto, fromEdgemq), intended)
    assert.match(String(imported.stdout), /sensors\/%u\/#\s*\n.*as Mosquitto 2\.1 does/)
  } finally { await rm(dir, { recursive: true, force: true }) }
})

test('client certificates (require_certificate, use_identity_as_username, crlfile): the same outcome for every cell', async () => {
  const dir = await tempDir()
  try {
    const pki = await makeTestPki(dir)
    const pw = join(dir, 'passwd')
    mosquittoPasswd(pw, { admin: 'admin-pw' })
    const acl = join(dir, 'acl')
    await writeFile(acl, ['user alice', 'topic readwrite sensors/alice/#', 'topic read cmd/#', 'user ignored-cn', 'topic read public/#', 'user admin', 'topic readwrite #', ''].join('\n'))
    const plain = await freePort()
    const tls = await freePort()
    const conf = join(dir, 'mosquitto.conf')
    await writeFile(conf, [
      'per_listener_settings false', `password_file ${pw}`, `acl_file ${acl}`, 'allow_anonymous false',
      `listener ${plain} 127.0.0.1`,
      `listener ${tls} 127.0.0.1`, `cafile ${pki.ca}`, `certfile ${pki.server.cert}`, `keyfile ${pki.server.key}`, `crlfile ${pki.crl}`,
      'require_certificate true', 'use_identity_as_username true', ''
    ].join('\n'))
    const certClients: MatrixClient[] = (['alice', 'san', 'expired', 'revoked', 'wrongca'] as const).map((n) => ({ label: `cert-${n}`, clientId: `cert-${n}`, tls: { ca: pki.ca, ...pki.client(n) } }))
    certClients.push({ label: 'no-certificate', clientId: 'no-cert', tls: { ca: pki.ca } })
    const mosq = await startMosquitto(await readFile(conf, 'utf8'), dir)
    let fromMosquitto
    try { fromMosquitto = await runMatrix(plain, observer, certClients, topics, tls) } finally { await mosq.stop() }
    const imported = cli(['import-mosquitto', conf, '-o', join(dir, 'edgemq.yaml')])
    assert.is(imported.status, 0, String(imported.stderr))
    const edgemq = await startImported(join(dir, 'edgemq.yaml'))
    let fromEdgemq
    try { fromEdgemq = await runMatrix(edgemq.ports[`listener-${plain}-127.0.0.1`], observer, certClients, topics, edgemq.ports[`listener-${tls}-127.0.0.1`]) } finally { await edgemq.stop() }
    assert.equal(fromMosquitto.connect, { 'cert-alice': 'accepted', 'cert-san': 'accepted', 'cert-expired': 'refused', 'cert-revoked': 'refused', 'cert-wrongca': 'refused', 'no-certificate': 'refused' })
    assert.ok(Object.values(fromMosquitto.receive).includes(true))
    assert.equal(differences(fromMosquitto, fromEdgemq), [])
  } finally { await rm(dir, { recursive: true, force: true }) }
})

test('a bridge section: topics arrive upstream (and come back down) under the same names', async () => {
  const dir = await tempDir()
  const upPort = await freePort()
  const upstream = await startMosquitto(`listener ${upPort} 127.0.0.1\nallow_anonymous true\n`, dir)
  try {
    const gatewayPort = await freePort()
    const conf = join(dir, 'gateway.conf')
    await writeFile(conf, [
      `listener ${gatewayPort} 127.0.0.1`, 'allow_anonymous true',
      'connection cloud', `address 127.0.0.1:${upPort}`, 'bridge_protocol_version mqttv311', 'cleansession true', 'keepalive_interval 30',
      'remote_clientid gw-1', 'try_private false', 'notifications false', 'restart_timeout 1:5',
      'topic sensors/# out 1 "" site1/', 'topic cmd/# in 1 local/ site1/', 'topic both/# both 0', ''
    ].join('\n'))
    const scenario = async (localPort: number): Promise<string[]> => {
      const seen: string[] = []
      const up = await mqtt.connectAsync(`mqtt://127.0.0.1:${upPort}`, { clientId: 'up-watch', reconnectPeriod: 0 })
      up.on('message', (t) => { seen.push(`up ${t}`) })
      await up.subscribeAsync('#', { qos: 1 })
      const local = await mqtt.connectAsync(`mqtt://127.0.0.1:${localPort}`, { clientId: 'local-watch', reconnectPeriod: 0 })
      local.on('message', (t) => { seen.push(`local ${t}`) })
      await local.subscribeAsync(['local/#', 'both/#'], { qos: 1 })
      await sleep(1_500) // the bridge connects and subscribes upstream
      await local.publishAsync('sensors/t1', 'x', { qos: 1 })
      await local.publishAsync('both/local', 'x', { qos: 0 })
      await up.publishAsync('site1/cmd/reboot', 'x', { qos: 1 })
      await up.publishAsync('both/remote', 'x', { qos: 0 })
      await sleep(1_000)
      up.end(true); local.end(true)
      return [...new Set(seen)].filter((s) => !s.includes('$SYS')).sort()
    }
    const mosq = await startMosquitto(await readFile(conf, 'utf8'), dir)
    let fromMosquitto: string[]
    try { fromMosquitto = await scenario(gatewayPort) } finally { await mosq.stop() }
    const imported = cli(['import-mosquitto', conf, '-o', join(dir, 'edgemq.yaml')])
    assert.is(imported.status, 0, String(imported.stderr))
    const edgemq = await startImported(join(dir, 'edgemq.yaml'))
    let fromEdgemq: string[]
    try { fromEdgemq = await scenario(edgemq.port) } finally { await edgemq.stop() }
    assert.ok(fromMosquitto.includes('up site1/sensors/t1') && fromMosquitto.includes('local local/cmd/reboot'), fromMosquitto.join('\n'))
    assert.equal(fromEdgemq, fromMosquitto)
  } finally {
    await upstream.stop()
    await rm(dir, { recursive: true, force: true })
  }
})

test('Debian\'s shipped mosquitto.conf imports into a config edgemq check accepts', async () => {
  const dir = await tempDir()
  try {
    const out = join(dir, 'edgemq.yaml')
    const r = cli(['import-mosquitto', '/etc/mosquitto/mosquitto.conf', '-o', out])
    assert.is(r.status, 0, String(r.stderr))
    for (const key of ['pid_file', 'persistence', 'persistence_location', 'log_dest', 'include_dir']) assert.match(String(r.stdout), new RegExp(`\\b${key}\\b`))
    const check = cli(['check', '-c', out])
    assert.is(check.status, 0, `${String(check.stdout)}${String(check.stderr)}`)
    await chmod(out, 0o600)
  } finally { await rm(dir, { recursive: true, force: true }) }
})

test.run()
