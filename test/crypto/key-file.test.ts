// Key files: the text format, 0600 atomic writes, refusal of readable secrets.
import { chmod, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { formatKeyFile, isEdgemqError, keygen, keyId, makeKey, parseKeyFile, publicKeyOf, readKeyFile, writeKeyFile } from '../../src/crypto/index.ts'

const test = suite<{ dir: string }>('key files', { dir: '' })
test.before.each(async (ctx) => { ctx.dir = await mkdtemp(join(tmpdir(), 'edgemq-keyfile-')) })
test.after.each(async (ctx) => { await rm(ctx.dir, { recursive: true, force: true }) })

async function rejects (promise: Promise<unknown>, check: (e: unknown) => boolean): Promise<void> {
  try { await promise } catch (err) {
    assert.ok(check(err), `unexpected error: ${String(err)}`)
    return
  }
  assert.unreachable('expected a rejection')
}

const hasCode = (code: string, text?: string) => (e: unknown): boolean => isEdgemqError(e) && e.code === code && (text === undefined || e.message.includes(text))

test('format is a comment then "edgemq-key v1 <type> <base64> <id>", and parses back to the same key', () => {
  for (const type of ['secretbox', 'box', 'sign'] as const) {
    const pair = keygen(type)
    for (const key of [pair.secret, pair.public]) {
      if (key === undefined) continue
      const text = formatKeyFile(key)
      assert.match(text, new RegExp(`^# edgemq ${key.type} key ${key.id}.*\\nedgemq-key v1 ${key.type} [A-Za-z0-9+/=]+ ${key.id}\\n$`))
      const back = parseKeyFile(text)
      assert.is(back.type, key.type)
      assert.equal(back.bytes, key.bytes)
      assert.is(back.id, key.id)
    }
  }
})

test('a key pair shares one id; the id is 16 hex digits', () => {
  const pair = keygen('box')
  assert.is(pair.secret.id, (pair.public as { id: string }).id)
  assert.match(pair.secret.id, /^[0-9a-f]{16}$/)
  assert.is(keyId(publicKeyOf(pair.secret)), pair.secret.id)
})

test('parse errors name the file:line and the problem', () => {
  const key = keygen('secretbox').secret
  const line = formatKeyFile(key).split('\n')[1]
  const bad = (text: string, want: string): void => assert.throws(() => parseKeyFile(text, 'k.key'), hasCode('EDGEMQ_ERR_CRYPTO_INVALID', want))
  bad('', 'holds no key line')
  bad('# only a comment\n', 'holds no key line')
  bad('ssh-ed25519 AAAA\n', 'k.key:1')
  bad(line.replace(' v1 ', ' v2 '), 'version "v2"')
  bad(line.replace('secretbox', 'rsa'), 'unknown key type "rsa"')
  bad(line.replace(/ [0-9a-f]{16}$/, ' 0000000000000000'), 'does not match the key')
  bad(`${line}\n${line}\n`, 'second key line')
  const withKey = (b64: string): string => { const f = line.split(' '); f[3] = b64; return f.join(' ') }
  bad(withKey('QUJD'), 'decodes to 3')
  bad(`\n\n${withKey('!!!!')}`, 'k.key:3')
  assert.is(parseKeyFile(line.split(' ').slice(0, 4).join(' ')).id, key.id, 'the id field is optional')
})

test('a sign-secret key whose halves do not match is refused as corrupt', () => {
  const sk = keygen('sign').secret.bytes.slice()
  sk[40] ^= 1
  assert.throws(() => makeKey('sign-secret', sk), hasCode('EDGEMQ_ERR_CRYPTO_INVALID', 'inconsistent'))
})

test('writes secrets 0600 and publics 0644, leaves no temp file, and reads them back', async ({ dir }) => {
  const pair = keygen('box')
  await writeKeyFile(join(dir, 'k'), pair.secret)
  await writeKeyFile(join(dir, 'k.pub'), pair.public!)
  assert.is((await stat(join(dir, 'k'))).mode & 0o777, 0o600)
  assert.is((await stat(join(dir, 'k.pub'))).mode & 0o777, 0o644)
  assert.equal((await readdir(dir)).sort(), ['k', 'k.pub'])
  assert.is((await readKeyFile(join(dir, 'k'))).id, pair.secret.id)
  assert.is((await readKeyFile(join(dir, 'k.pub'), 'box-public')).id, pair.secret.id)
})

test('a secret 0600 file is written 0600 even under a permissive umask', async ({ dir }) => {
  const old = process.umask(0)
  try {
    await writeKeyFile(join(dir, 'k'), keygen('secretbox').secret)
  } finally { process.umask(old) }
  assert.is((await stat(join(dir, 'k'))).mode & 0o777, 0o600)
})

test('refuses to overwrite an existing key unless told to', async ({ dir }) => {
  const path = join(dir, 'k')
  const first = keygen('secretbox').secret
  await writeKeyFile(path, first)
  await rejects(writeKeyFile(path, keygen('secretbox').secret), hasCode('EDGEMQ_ERR_CRYPTO_INVALID', 'already exists'))
  assert.is((await readKeyFile(path)).id, first.id)
  assert.equal(await readdir(dir), ['k'], 'no temp file left behind')
  const second = keygen('secretbox').secret
  await writeKeyFile(path, second, { overwrite: true })
  assert.is((await readKeyFile(path)).id, second.id)
})

test('a group- or world-readable secret key is refused with CRYPTO_KEY_INSECURE and the chmod fix', async ({ dir }) => {
  const path = join(dir, 'k')
  await writeKeyFile(path, keygen('box').secret)
  for (const mode of [0o640, 0o604, 0o660, 0o644]) {
    await chmod(path, mode)
    await rejects(readKeyFile(path), hasCode('EDGEMQ_ERR_CRYPTO_KEY_INSECURE', `chmod 600 ${path}`))
  }
  await chmod(path, 0o400)
  assert.ok(await readKeyFile(path))
  const pub = join(dir, 'k.pub')
  await writeFile(pub, formatKeyFile(keygen('box').public!), { mode: 0o644 })
  assert.ok(await readKeyFile(pub), 'public keys may be readable')
})

test('read errors: missing file, wrong type, oversized file; a symlink is followed and its target\'s mode checked', async ({ dir }) => {
  await rejects(readKeyFile(join(dir, 'none')), hasCode('EDGEMQ_ERR_CRYPTO_INVALID', 'edgemq keygen'))
  const path = join(dir, 'k')
  await writeKeyFile(path, keygen('secretbox').secret)
  await symlink(path, join(dir, 'link'))
  assert.is((await readKeyFile(join(dir, 'link'))).type, 'secretbox', 'a symlink is followed')
  await chmod(path, 0o644)
  await rejects(readKeyFile(join(dir, 'link')), hasCode('EDGEMQ_ERR_CRYPTO_KEY_INSECURE', 'mode 0644'))
  await chmod(path, 0o600)
  await rejects(readKeyFile(path, 'box-secret'), hasCode('EDGEMQ_ERR_CRYPTO_INVALID', 'expected box-secret'))
  await writeFile(join(dir, 'big'), 'x'.repeat(20_000), { mode: 0o600 })
  await rejects(readKeyFile(join(dir, 'big')), hasCode('EDGEMQ_ERR_CRYPTO_INVALID', 'not a key file'))
  assert.match(await readFile(path, 'utf8'), 'SECRET')
})

test.run()
