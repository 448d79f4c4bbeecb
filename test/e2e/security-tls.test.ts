// TLS on real sockets (failure-modes row 14): TLS 1.0/1.1 refused, expired,
// revoked (CRL) and wrong-CA client certificates refused, the certificate
// CN or SAN as the user name, and two factors (certificate AND password).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { copyFile, readFile } from 'node:fs/promises'
import { execFileSync } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { join } from 'node:path'
import { createServer, connect as tlsConnect } from 'node:tls'
import { readFileSync } from 'node:fs'
import { connectClient } from '../auth/mqtt-connect.ts'
import { makeTestPki, type TestPki } from '../auth/test-pki.ts'
import { startSecureBroker, tempDir, writePasswords, removeDir, type SecureBroker } from '../auth/security-broker.ts'

let dir: string
let pki: TestPki
let b: SecureBroker

test.before(async () => {
  dir = await tempDir()
  pki = await makeTestPki(dir)
  const pw = await writePasswords(dir, { alice: 'alice-pass', bob: 'bob-pass' })
  const tls = `cert: ${pki.server.cert}, key: ${pki.server.key}, ca: ${pki.ca}, crl: ${pki.crl}`
  b = await startSecureBroker(`auth: { passwordFile: ${pw}, lockout: { ipFailures: 1000 } }
listeners:
  - { name: mtls, type: tls, host: 127.0.0.1, port: 0, ${tls}, requireCertificate: true, usernameFromCertificate: cn }
  - { name: mtls-san, type: tls, host: 127.0.0.1, port: 0, ${tls}, requireCertificate: true, usernameFromCertificate: san }
  - { name: twofactor, type: tls, host: 127.0.0.1, port: 0, ${tls}, requireCertificate: true, usernameFromCertificate: cn, requirePassword: true }
  - { name: tls, type: tls, host: 127.0.0.1, port: 0, cert: ${pki.server.cert}, key: ${pki.server.key}, allowAnonymous: false }
acl:
  rules:
    - { allow: readwrite, topic: "users/%u/#" }
`, dir)
})
test.after(async () => { await b.stop(); await removeDir(dir) })

async function tlsLogin (listener: string, certName?: 'alice' | 'expired' | 'revoked' | 'wrongca' | 'san', opts: Record<string, unknown> = {}): Promise<number> {
  const cert = certName === undefined ? {} : { cert: await readFile(pki.client(certName).cert), key: await readFile(pki.client(certName).key) }
  try {
    const c = await connectClient(`mqtts://127.0.0.1:${b.port(listener)}`, { ca: await readFile(pki.ca), rejectUnauthorized: true, ...cert, ...opts })
    // Prove the identity: %u in the ACL must be the certificate name.
    const user = (opts.username as string | undefined) ?? (certName === 'san' ? 'dev-7' : 'alice')
    await c.publishAsync(`users/${user}/hello`, 'x', { qos: 1 })
    c.end(true)
    return 0
  } catch (err) {
    return (err as { code?: number }).code ?? -1
  }
}

test('a valid client certificate logs in with its CN as the user name', async () => {
  assert.is(await tlsLogin('mtls', 'alice'), 0)
  const v5 = await connectClient(`mqtts://127.0.0.1:${b.port('mtls')}`, { ca: await readFile(pki.ca), cert: await readFile(pki.client('alice').cert), key: await readFile(pki.client('alice').key), protocolVersion: 5 })
  try {
    await v5.publishAsync('users/bob/x', 'x', { qos: 1 })
    assert.unreachable('alice must not write as bob')
  } catch (err) { assert.is((err as { code?: number }).code, 0x87) } finally { v5.end(true) }
})

test('usernameFromCertificate: san takes the first SAN', async () => {
  assert.is(await tlsLogin('mtls-san', 'san'), 0)
})

test('expired, revoked (CRL) and wrong-CA certificates, and no certificate, are refused', async () => {
  for (const name of ['expired', 'revoked', 'wrongca'] as const) {
    assert.ok((await tlsLogin('mtls', name)) < 0, name)
  }
  assert.ok((await tlsLogin('mtls')) < 0, 'no certificate')
})

test('a user name that differs from the certificate identity is refused', async () => {
  assert.is(await tlsLogin('mtls', 'alice', { username: 'bob', password: 'bob-pass' }), 4)
})

test('two factors: certificate AND password; either alone is refused', async () => {
  assert.is(await tlsLogin('twofactor', 'alice', { username: 'alice', password: 'alice-pass' }), 0)
  assert.is(await tlsLogin('twofactor', 'alice', { username: 'alice', password: 'wrong' }), 4)
  assert.is(await tlsLogin('twofactor', 'alice'), 4, 'certificate without password')
  assert.ok((await tlsLogin('twofactor', undefined, { username: 'alice', password: 'alice-pass' })) < 0, 'password without certificate')
})

test('a plain TLS listener with passwords works, and anonymous is refused on it', async () => {
  assert.is(await tlsLogin('tls', undefined, { username: 'alice', password: 'alice-pass' }), 0)
  assert.is(await tlsLogin('tls', undefined, {}), 5)
})

test('TLS 1.0 and 1.1 handshakes are refused; 1.2 is accepted (a client able to speak 1.0/1.1 is shown to succeed elsewhere)', async () => {
  const handshake = async (port: number, version: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2'): Promise<string> => await new Promise((resolve) => {
    const s = tlsConnect({ host: '127.0.0.1', port, ca: [readFileSync(pki.ca)], minVersion: version, maxVersion: version, ciphers: 'DEFAULT@SECLEVEL=0' }, () => { resolve(s.getProtocol() ?? '?'); s.destroy() })
    s.on('error', (err: NodeJS.ErrnoException) => { resolve(`error:${err.code ?? err.message}`) })
  })
  // Control: a server that allows old versions accepts this very client, so a refusal below is the broker's doing.
  const old = createServer({ cert: readFileSync(pki.server.cert), key: readFileSync(pki.server.key), minVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0' }, (s) => s.end())
  await new Promise<void>((resolve) => old.listen(0, '127.0.0.1', resolve))
  const oldPort = (old.address() as { port: number }).port
  try {
    assert.is(await handshake(oldPort, 'TLSv1'), 'TLSv1', 'control: the client speaks TLS 1.0')
    assert.is(await handshake(oldPort, 'TLSv1.1'), 'TLSv1.1', 'control: the client speaks TLS 1.1')
    for (const v of ['TLSv1', 'TLSv1.1'] as const) assert.match(await handshake(b.port('tls'), v), /^error:.*(VERSION|PROTOCOL)/i, v)
    assert.is(await handshake(b.port('tls'), 'TLSv1.2'), 'TLSv1.2')
  } finally { await new Promise<void>((resolve) => old.close(() => resolve())) }
})

test('SIGHUP reload picks up a new server certificate and key; connected clients stay', async () => {
  const fingerprint = async (): Promise<string> => await new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port: b.port('tls'), rejectUnauthorized: false }, () => { resolve(s.getPeerCertificate().fingerprint256); s.destroy() })
    s.on('error', reject)
  })
  const kept = await connectClient(`mqtts://127.0.0.1:${b.port('tls')}`, { ca: await readFile(pki.ca), username: 'alice', password: 'alice-pass' })
  const before = await fingerprint()
  const newCert = join(dir, 'new.pem'); const newKey = join(dir, 'new.key')
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', newKey, '-out', newCert, '-subj', '/CN=127.0.0.1', '-days', '30'], { stdio: 'pipe' })
  await copyFile(newCert, pki.server.cert)
  await copyFile(newKey, pki.server.key)
  await b.broker.reload(b.broker.config)
  const after = await fingerprint()
  assert.is.not(after, before)
  assert.is(after, new X509Certificate(readFileSync(newCert)).fingerprint256)
  assert.ok(kept.connected, 'the client connected before the reload is still there')
  kept.end(true)
})

test.run()
