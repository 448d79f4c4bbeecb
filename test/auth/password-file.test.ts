import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { loadPasswordFile, parsePasswordFile, checkUsername, writeFileAtomic } from '../../src/auth/password-file.ts'
import { verifyPassword } from '../../src/auth/password-hash.ts'
import { isEdgemqError, ERROR_CODES } from '../../src/errors.ts'
import { passwdCommand } from '../../src/cli/commands/passwd.ts'

const H7 = '$7$101$' + Buffer.alloc(12, 1).toString('base64') + '$' + Buffer.alloc(64, 2).toString('base64')

async function withDir (fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'edgemq-pwf-'))
  try { await fn(dir) } finally { await rm(dir, { recursive: true, force: true }) }
}

function io (input: string): { io: Parameters<typeof passwdCommand.run>[1], out: () => string, err: () => string } {
  const stdout = new PassThrough(); const stderr = new PassThrough(); const stdin = new PassThrough()
  let o = ''; let e = ''
  stdout.on('data', (d) => { o += d }); stderr.on('data', (d) => { e += d })
  stdin.end(input)
  return { io: { stdout, stderr, stdin, env: {} }, out: () => o, err: () => e }
}

test('parses user:hash lines, skips comments and blank lines, keeps line numbers', () => {
  const { entries } = parsePasswordFile(`# users\n\nalice:${H7}\r\nbob:${H7}\n`, 'p')
  assert.equal(entries.map((e) => [e.user, e.line]), [['alice', 3], ['bob', 4]])
})

test('a malformed line stops the load with file:line (CVE-2018-12551: never skipped)', () => {
  const cases: Array<[string, RegExp]> = [
    [`alice:${H7}\nbroken-line\n`, /p:2: password line must be user:hash/],
    [`alice:${H7}\n:${H7}\n`, /p:2: password line must be user:hash/],
    [`alice:plain\n`, /p:1: the password of "alice" is not a hash/],
    [`alice:${H7}\nalice:${H7}\n`, /p:2: user "alice" appears twice/],
    [`a+b:${H7}\n`, /p:1: user name "a\+b" contains \+ # or \//],
    [`al\u0001ice:${H7}\n`, /control character/]
  ]
  for (const [text, why] of cases) {
    try { parsePasswordFile(text, 'p'); assert.unreachable(text) } catch (err) {
      assert.ok(isEdgemqError(err, ERROR_CODES.AUTH_FILE_INVALID), String(err))
      assert.match((err as Error).message, why)
    }
  }
})

test('user names and client ids with + # / or control characters are refused (CVE-2017-7650)', () => {
  for (const bad of ['a/b', 'a+', '#', 'x\ny', 'x\u0000', 'x\u009f', '', 'a'.repeat(300)]) assert.type(checkUsername(bad), 'string', JSON.stringify(bad))
  for (const ok of ['alice', 'sensor-01', 'ü-user', 'a.b@c', 'with space']) assert.is(checkUsername(ok), undefined)
})

test('a group-writable or world-readable password file is refused at load with the chmod fix', async () => {
  await withDir(async (dir) => {
    const p = join(dir, 'passwd')
    await writeFile(p, `alice:${H7}\n`)
    for (const mode of [0o644, 0o620, 0o604, 0o666]) {
      await chmod(p, mode)
      try { await loadPasswordFile(p); assert.unreachable(mode.toString(8)) } catch (err) {
        assert.ok(isEdgemqError(err, ERROR_CODES.AUTH_FILE_INSECURE))
        assert.match((err as Error).message, /chmod 600/)
      }
    }
    for (const mode of [0o600, 0o640, 0o400]) {
      await chmod(p, mode)
      assert.is((await loadPasswordFile(p)).users.size, 1)
    }
  })
})

test('a missing password file is an error naming the fix', async () => {
  try { await loadPasswordFile('/nonexistent/passwd'); assert.unreachable() } catch (err) {
    assert.match((err as Error).message, /edgemq passwd/)
  }
})

test('writeFileAtomic writes mode 0600 even over a 0644 file and leaves no temp file', async () => {
  await withDir(async (dir) => {
    const p = join(dir, 'passwd')
    await writeFile(p, 'old\n', { mode: 0o644 })
    await writeFileAtomic(p, 'new\n')
    assert.is(await readFile(p, 'utf8'), 'new\n')
    assert.is((await stat(p)).mode & 0o777, 0o600)
    const { readdir } = await import('node:fs/promises')
    assert.equal(await readdir(dir), ['passwd'])
  })
})

test('edgemq passwd --stdin adds and changes users, keeps Mosquitto lines, -D deletes, -U hashes plain text', async () => {
  await withDir(async (dir) => {
    const p = join(dir, 'passwd')
    await writeFile(p, `mosq:${H7}\n`, { mode: 0o600 })
    let r = io('first-pass\n')
    assert.is(await passwdCommand.run(['--stdin', p, 'alice'], r.io), 0, r.err())
    assert.match(r.out(), /added alice/)
    let file = await loadPasswordFile(p)
    assert.ok(await verifyPassword(Buffer.from('first-pass'), file.users.get('alice')!.hash))
    assert.is(file.users.get('mosq')!.text, H7)
    r = io('second-pass\n')
    assert.is(await passwdCommand.run(['--stdin', p, 'alice'], r.io), 0)
    file = await loadPasswordFile(p)
    assert.ok(await verifyPassword(Buffer.from('second-pass'), file.users.get('alice')!.hash))
    assert.is(file.users.size, 2)
    r = io('')
    assert.is(await passwdCommand.run(['-D', p, 'mosq'], r.io), 0)
    assert.equal([...(await loadPasswordFile(p)).users.keys()], ['alice'])
    assert.is((await stat(p)).mode & 0o777, 0o600)
    // -U on a plain-text file
    const q = join(dir, 'plain')
    await writeFile(q, 'u1:pw1\nu2:pw2\n', { mode: 0o600 })
    r = io('')
    assert.is(await passwdCommand.run(['-U', q], r.io), 0, r.err())
    const up = await loadPasswordFile(q)
    assert.ok(await verifyPassword(Buffer.from('pw2'), up.users.get('u2')!.hash))
  })
})

test('edgemq passwd refuses bad user names, empty passwords and unknown users to delete', async () => {
  await withDir(async (dir) => {
    const p = join(dir, 'passwd')
    let r = io('x\n')
    assert.is(await passwdCommand.run(['--stdin', p, 'a/b'], r.io), 2)
    r = io('x\n')
    assert.is(await passwdCommand.run(['--stdin', p, 'a:b'], r.io), 2)
    r = io('\n')
    assert.is(await passwdCommand.run(['--stdin', p, 'alice'], r.io), 1)
    assert.match(r.err(), /empty password/)
    await writeFile(p, '', { mode: 0o600 })
    r = io('')
    assert.is(await passwdCommand.run(['-D', p, 'nobody'], r.io), 1)
  })
})

test.run()
