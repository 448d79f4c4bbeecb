import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile, chmod } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decoyHash, hashPassword, parsePasswordHash, verifyPassword, weaknessOf, type PasswordHash } from '../../src/auth/password-hash.ts'
import { freePort } from '../helpers/free-port.ts'

function need (tool: string, pkg: string): void {
  if (spawnSync('which', [tool]).status !== 0) throw new Error(`${tool} is missing: apt-get install ${pkg}`)
}

function parsed (text: string): PasswordHash {
  const h = parsePasswordHash(text)
  if (typeof h === 'string') throw new Error(h)
  return h
}


test('verifies $7$ lines made by Debian\'s mosquitto_passwd, and refuses wrong passwords', async () => {
  need('mosquitto_passwd', 'mosquitto')
  const dir = await mkdtemp(join(tmpdir(), 'edgemq-pw-'))
  try {
    const file = join(dir, 'passwd')
    const users: Record<string, string> = { alice: 'correct horse', bob: 'pässwörd-ü', carol: 'x'.repeat(200) }
    let first = true
    for (const [u, p] of Object.entries(users)) {
      execFileSync('mosquitto_passwd', [...(first ? ['-c'] : []), '-b', file, u, p])
      first = false
    }
    const lines = (await readFile(file, 'utf8')).trim().split('\n')
    assert.is(lines.length, 3)
    for (const line of lines) {
      const [u, hash] = [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1)]
      assert.match(hash, /^\$7\$101\$/)
      const h = parsed(hash)
      assert.ok(await verifyPassword(Buffer.from(users[u]), h), `${u} right password`)
      assert.not.ok(await verifyPassword(Buffer.from(users[u] + 'x'), h), `${u} wrong password`)
      assert.not.ok(await verifyPassword(Buffer.alloc(0), h), `${u} empty password`)
    }
  } finally { await rm(dir, { recursive: true, force: true }) }
})

test('a $6$ line (Mosquitto 1.x) is accepted by the real mosquitto and by edgemq alike', async () => {
  need('mosquitto', 'mosquitto'); need('mosquitto_pub', 'mosquitto-clients')
  const salt = randomBytes(12)
  const digest = createHash('sha512').update('legacy-pass').update(salt).digest()
  const line = `old:$6$${salt.toString('base64')}$${digest.toString('base64')}`
  const h = parsed(line.slice(4))
  assert.ok(await verifyPassword(Buffer.from('legacy-pass'), h))
  assert.not.ok(await verifyPassword(Buffer.from('legacy-pasS'), h))
  assert.match(weaknessOf(h) ?? '', /legacy/)
  // Cross-check the format against mosquitto 2.0 itself.
  const dir = await mkdtemp(join(tmpdir(), 'edgemq-mosq-'))
  const port = await freePort()
  await writeFile(join(dir, 'passwd'), line + '\n')
  await chmod(join(dir, 'passwd'), 0o600)
  await writeFile(join(dir, 'mosquitto.conf'), `user ${process.getuid?.() === 0 ? 'root' : 'mosquitto'}\nlistener ${port} 127.0.0.1\nallow_anonymous false\npassword_file ${join(dir, 'passwd')}\npersistence false\n`)
  const mosq = spawn('mosquitto', ['-c', join(dir, 'mosquitto.conf')], { stdio: 'ignore' })
  try {
    let ok = false
    for (let i = 0; i < 50 && !ok; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      ok = spawnSync('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-u', 'old', '-P', 'legacy-pass', '-t', 't', '-m', 'm']).status === 0
    }
    assert.ok(ok, 'mosquitto accepts the $6$ line with the right password')
    assert.is.not(spawnSync('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-u', 'old', '-P', 'wrong', '-t', 't', '-m', 'm']).status, 0)
  } finally {
    mosq.kill('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  }
})

test('scrypt: hash then verify; wrong password refused; default cost is 16 MiB', async () => {
  const text = await hashPassword(Buffer.from('s3cret'))
  assert.match(text, /^\$scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/)
  const h = parsed(text)
  assert.ok(await verifyPassword(Buffer.from('s3cret'), h))
  assert.not.ok(await verifyPassword(Buffer.from('s3cre'), h))
  assert.is(weaknessOf(h), undefined)
  // Two hashes of one password differ (random salt).
  assert.is.not(await hashPassword(Buffer.from('s3cret'), { N: 1024 }), await hashPassword(Buffer.from('s3cret'), { N: 1024 }))
})

test('malformed or hostile hashes are refused with a reason, never verified', () => {
  const bad: Array<[string, RegExp]> = [
    ['plaintext', /not a hash/],
    ['', /not a hash/],
    ['$7$101$abc', /malformed \$7\$/],
    ['$7$0$YWJj$' + 'A'.repeat(88), /iteration count/],
    ['$7$101$!!!$' + 'A'.repeat(88), /salt or hash/],
    ['$7$101$YWJjZA==$YWJj', /salt or hash/],
    ['$6$YWJj', /not a hash/],
    ['$6$YWJj$YWJj', /salt or hash/],
    ['$scrypt$16384$8$1$YWJj', /malformed \$scrypt\$/],
    ['$scrypt$1000$8$1$YWJjZGVmZ2g=$' + 'A'.repeat(44), /out of range/],
    ['$scrypt$1048576$32$1$YWJjZGVmZ2g=$' + 'A'.repeat(44), /out of range/],
    ['$argon2id$v=19$m=65536,t=2,p=1$abc$def', /argon2id/],
    ['$2b$10$abcdefghijklmnopqrstuv', /unknown hash scheme/]
  ]
  for (const [text, why] of bad) {
    const r = parsePasswordHash(text)
    assert.type(r, 'string', text)
    assert.match(r as string, why, text)
  }
})

test('the decoy for unknown users has the same scheme and cost as real entries', () => {
  const mosq = parsed('$7$101$' + randomBytes(12).toString('base64') + '$' + randomBytes(64).toString('base64'))
  const d = decoyHash(mosq)
  assert.is(d.scheme, 'pbkdf2-sha512')
  assert.is((d as { iterations: number }).iterations, 101)
  assert.is(decoyHash(undefined).scheme, 'scrypt')
})

test.run()
