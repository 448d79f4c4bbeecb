import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { chmod, mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { auditConfig, formatFindings } from '../../src/audit/audit-config.ts'
import { auditCommand } from '../../src/cli/commands/audit.ts'
import { configFrom, tempDir, removeDir } from '../auth/security-broker.ts'
import { hashPassword } from '../../src/auth/password-hash.ts'
import { makeTestPki } from '../auth/test-pki.ts'

async function checks (yaml: string, dir: string): Promise<string[]> {
  return (await auditConfig(await configFrom(yaml, dir))).map((f) => `${f.severity}:${f.check}`)
}

async function runAudit (args: string[]): Promise<{ code: number, out: string }> {
  const stdout = new PassThrough(); let out = ''
  stdout.on('data', (d) => { out += d })
  const code = await auditCommand.run(args, { stdout, stderr: new PassThrough(), stdin: new PassThrough(), env: {} })
  return { code, out }
}

test('a public plain listener with anonymous access and no ACL gives high findings with fixes', async () => {
  const dir = await tempDir()
  try {
    const found = await checks('listeners: [ { name: wan, type: tcp, host: 0.0.0.0, port: 1883, allowAnonymous: true } ]\n', dir)
    for (const c of ['high:public-plaintext', 'high:anonymous-public', 'high:no-acl', 'low:no-connection-rate', 'medium:no-password-file']) assert.ok(found.includes(c), `${c} in ${found.join(', ')}`)
  } finally { await removeDir(dir) }
})

test('the secure setup of docs/security.md has no high or medium finding', async () => {
  const dir = await tempDir()
  try {
    const pki = await makeTestPki(dir)
    const pw = join(dir, 'passwd')
    await writeFile(pw, `alice:${await hashPassword(Buffer.from('x'))}\n`, { mode: 0o600 })
    await writeFile(join(dir, 'acl.yaml'), 'groups: { sensors: [alice] }\nrules:\n  - { group: sensors, allow: readwrite, topic: "sensors/%u/#" }\n')
    const found = await checks(`auth: { passwordFile: ${pw}, aclFile: ${join(dir, 'acl.yaml')} }
listeners:
  - { name: local, type: tcp, host: 127.0.0.1, port: 1883 }
  - { name: tls, type: tls, host: 0.0.0.0, port: 8883, cert: ${pki.server.cert}, key: ${pki.server.key}, connectionRate: 5 }
`, dir)
    assert.equal(found.filter((f) => !f.startsWith('low:')), [], found.join(', '))
  } finally { await removeDir(dir) }
})

test('a LAN-only plain listener is medium, not high; an allow-all ACL and a disabled lockout are high', async () => {
  const dir = await tempDir()
  try {
    const found = await checks(`listeners: [ { name: lan, type: tcp, host: 0.0.0.0, port: 1883, allow: [192.168.0.0/16] } ]
acl: { rules: [ { allow: readwrite, topic: "#" } ] }
auth: { lockout: { enabled: false } }
limits: { maxPacketSize: 64MB }
`, dir)
    for (const c of ['medium:public-plaintext', 'high:allow-all-acl', 'high:lockout-off', 'medium:max-packet-size']) assert.ok(found.includes(c), `${c} in ${found.join(', ')}`)
    assert.not.ok(found.includes('high:public-plaintext'))
  } finally { await removeDir(dir) }
})

test('no store-wide cap on queued messages (persistence.maxQueuedMessagesTotal: 0) is medium; the default and a set count are not reported', async () => {
  const dir = await tempDir()
  try {
    const config = await configFrom('listeners: [ { name: l, type: tcp, host: 127.0.0.1, port: 1883 } ]\n', dir)
    const found = async (total: number | undefined): Promise<string[]> =>
      (await auditConfig({ ...config, persistence: { ...config.persistence, maxQueuedMessagesTotal: total } })).map((f) => `${f.severity}:${f.check}`)
    assert.ok((await found(0)).includes('medium:queue-total-uncapped'))
    assert.not.ok((await found(undefined)).some((f) => f.endsWith(':queue-total-uncapped')))
    assert.not.ok((await found(500_000)).some((f) => f.endsWith(':queue-total-uncapped')))
  } finally { await removeDir(dir) }
})

test('keepalive: the lenient default is reported (low) on an exposed listener, with the TCP keepalive bound; strict is not; a slow tcpKeepaliveIdle is medium', async () => {
  const dir = await tempDir()
  try {
    const lan = 'listeners: [ { name: lan, type: tcp, host: 0.0.0.0, port: 1883, allow: [192.168.0.0/16] } ]\n'
    const findings = await auditConfig(await configFrom(lan, dir))
    const lenient = findings.find((f) => f.check === 'keepalive-lenient')
    assert.ok(lenient !== undefined && lenient.severity === 'low', JSON.stringify(findings))
    assert.match(lenient.message, /about 735 s/)
    assert.not.ok((await checks(lan + 'limits: { keepaliveStrict: true }\n', dir)).includes('low:keepalive-lenient'))
    assert.not.ok((await checks('listeners: [ { name: l, type: tcp, host: 127.0.0.1, port: 1883 } ]\n', dir)).includes('low:keepalive-lenient'), 'loopback only: nothing to report')
    assert.ok((await checks(lan + 'limits: { tcpKeepaliveIdle: 2h }\n', dir)).includes('medium:tcp-keepalive-slow'))
  } finally { await removeDir(dir) }
})

test('password files: world-readable, plain text, legacy $6$ and weak $7$ are reported', async () => {
  const dir = await tempDir()
  try {
    const pw = join(dir, 'passwd')
    const b64 = (n: number): string => Buffer.alloc(n, 7).toString('base64')
    await writeFile(pw, `old:$6$${b64(12)}$${b64(64)}\nmosq:$7$101$${b64(12)}$${b64(64)}\nplain:secret\n`)
    await chmod(pw, 0o644)
    const found = await checks(`auth: { passwordFile: ${pw} }\n`, dir)
    for (const c of ['high:password-file-mode', 'high:password-plaintext', 'high:password-legacy-hash', 'medium:password-weak-hash']) assert.ok(found.includes(c), `${c} in ${found.join(', ')}`)
  } finally { await removeDir(dir) }
})

test('a password file that mixes hash schemes is rated for it: medium with a weak class, low when every class is strong, nothing for one scheme', async () => {
  const dir = await tempDir()
  try {
    const pw = join(dir, 'passwd')
    const b64 = (n: number): string => Buffer.alloc(n, 7).toString('base64')
    const scryptLine = `s:${await hashPassword(Buffer.from('x'))}`
    await writeFile(pw, `mosq:$7$101$${b64(12)}$${b64(64)}\n${scryptLine}\n`, { mode: 0o600 })
    await chmod(pw, 0o600)
    const mixed = await checks(`auth: { passwordFile: ${pw} }\n`, dir)
    assert.ok(mixed.includes('medium:password-mixed-schemes'), mixed.join(', '))
    await writeFile(pw, `strong7:$7$210000$${b64(12)}$${b64(64)}\n${scryptLine}\n`)
    const strong = await checks(`auth: { passwordFile: ${pw} }\n`, dir)
    assert.ok(strong.includes('low:password-mixed-schemes'), strong.join(', '))
    await writeFile(pw, `${scryptLine}\n`)
    assert.not.ok((await checks(`auth: { passwordFile: ${pw} }\n`, dir)).some((c) => c.endsWith(':password-mixed-schemes')))
  } finally { await removeDir(dir) }
})

test('TLS: an expired server certificate, proxyProtocol without trusted proxies, a loopback listener that allows nobody', async () => {
  const dir = await tempDir()
  try {
    const pki = await makeTestPki(dir)
    const found = await checks(`listeners:
  - { name: t, type: tls, host: 127.0.0.1, port: 8883, cert: ${pki.client('expired').cert}, key: ${pki.client('expired').key} }
  - { name: p, type: tcp, host: 127.0.0.1, port: 1884, proxyProtocol: true }
  - { name: u, type: tcp, host: 127.0.0.1, port: 1885, allow: [10.0.0.0/8] }
  - { name: m, type: tls, host: 127.0.0.1, port: 8884, cert: ${pki.server.cert}, key: ${pki.server.key}, ca: ${pki.ca}, requireCertificate: true }
`, dir)
    for (const c of ['high:tls-cert-expired', 'high:proxy-untrusted', 'medium:unused-listener', 'low:no-crl']) assert.ok(found.includes(c), `${c} in ${found.join(', ')}`)
  } finally { await removeDir(dir) }
})

test('a store folder other users can read is a high finding; a 0700 one is none (issue 14)', async () => {
  const dir = await tempDir()
  try {
    const store = join(dir, 'data') // configFrom's persistence.path
    await mkdir(store, { mode: 0o700 })
    await chmod(store, 0o755)
    await writeFile(join(store, 'CURRENT'), 'MANIFEST-000001\n', { mode: 0o600 })
    const yaml = `listeners: [ { name: local, type: tcp, host: 127.0.0.1, port: 1883 } ]\n`
    assert.ok((await checks(yaml, dir)).includes('high:store-mode'))
    await chmod(store, 0o700)
    await chmod(join(store, 'CURRENT'), 0o644)
    assert.ok((await checks(yaml, dir)).includes('high:store-mode'), 'a world-readable file inside counts too')
    await chmod(join(store, 'CURRENT'), 0o600)
    assert.not.ok((await checks(yaml, dir)).some((c) => c.endsWith(':store-mode')))
  } finally { await removeDir(dir) }
})

test('edgemq audit prints a table and exits 1 on high findings, 0 otherwise', async () => {
  const dir = await tempDir()
  try {
    const bad = join(dir, 'bad.yaml')
    await writeFile(bad, 'listeners: [ { name: wan, type: tcp, host: 0.0.0.0, port: 1883, allowAnonymous: true } ]\n')
    let r = await runAudit(['-c', bad])
    assert.is(r.code, 1)
    assert.match(r.out, /^SEVERITY\s+WHERE\s+FINDING\s+FIX\nHIGH /)
    assert.match(r.out, /finding\(s\), \d+ high\n$/)
    const good = join(dir, 'good.yaml')
    await writeFile(good, `persistence: { path: ${join(dir, 'data')} }\nacl: { rules: [ { allow: read, topic: "a/#" } ] }\n`)
    r = await runAudit(['-c', good])
    assert.is(r.code, 0, r.out)
    const json = await runAudit(['-c', bad, '--json'])
    assert.ok(Array.isArray(JSON.parse(json.out)))
    assert.is(formatFindings([]), 'no findings\n')
  } finally { await removeDir(dir) }
})

test.run()
