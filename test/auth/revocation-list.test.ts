// The CRL reader that lets a reload close sessions of revoked certificates:
// checked against CRLs and certificates made by the openssl CLI.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFileSync } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeTestPki, type TestPki } from './test-pki.ts'
import { revocationKeyOf, revokedKeysOf } from '../../src/auth/revocation-list.ts'

let dir: string
let pki: TestPki
test.before(async () => { dir = await mkdtemp(join(tmpdir(), 'edgemq-crl-')); pki = await makeTestPki(dir) })
test.after(async () => { await rm(dir, { recursive: true, force: true }) })

const keyOf = async (name: 'alice' | 'revoked' | 'wrongca' | 'san'): Promise<string> => revocationKeyOf(new X509Certificate(await readFile(pki.client(name).cert)).raw)

test('a PEM CRL names the revoked certificate and no other', async () => {
  const revoked = revokedKeysOf(await readFile(pki.crl))
  assert.is(revoked.size, 1)
  assert.ok(revoked.has(await keyOf('revoked')))
  assert.not.ok(revoked.has(await keyOf('alice')))
  assert.not.ok(revoked.has(await keyOf('san')))
})

test('the key carries the serial as openssl prints it, and the issuer', async () => {
  const cert = new X509Certificate(await readFile(pki.client('revoked').cert))
  assert.ok((await keyOf('revoked')).endsWith(`:${cert.serialNumber.replace(/^0+(?=.)/, '')}`))
  // Same serial space, other CA: never matched by this CA's CRL.
  assert.is.not((await keyOf('wrongca')).split(':')[0], (await keyOf('alice')).split(':')[0])
})

test('a DER CRL, a CRL bundle and a CRL with no revocations', async () => {
  const der = execFileSync('openssl', ['crl', '-in', pki.crl, '-outform', 'DER'])
  assert.ok(revokedKeysOf(der).has(await keyOf('revoked')))
  execFileSync('openssl', ['ca', '-config', join(pki.dir, 'ca.cnf'), '-revoke', pki.client('alice').cert], { cwd: pki.dir, stdio: 'pipe' })
  const second = execFileSync('openssl', ['ca', '-config', join(pki.dir, 'ca.cnf'), '-gencrl'], { cwd: pki.dir })
  const bundle = Buffer.concat([await readFile(pki.crl), second])
  const both = revokedKeysOf(bundle)
  assert.ok(both.has(await keyOf('alice')))
  assert.ok(both.has(await keyOf('revoked')))
  // A CRL with no revokedCertificates field at all: a fresh, empty database.
  await writeFile(join(pki.dir, 'index-empty.txt'), '')
  await writeFile(join(pki.dir, 'empty.cnf'), (await readFile(join(pki.dir, 'ca.cnf'), 'utf8')).replace('$dir/index.txt', '$dir/index-empty.txt'))
  const empty = execFileSync('openssl', ['ca', '-config', join(pki.dir, 'empty.cnf'), '-gencrl'], { cwd: pki.dir })
  assert.is(revokedKeysOf(empty).size, 0)
})

test('garbage is an error, not an empty list', () => {
  assert.throws(() => revokedKeysOf(Buffer.from([0x30, 0x82, 0xff, 0xff, 0x01])))
})

test.run()
