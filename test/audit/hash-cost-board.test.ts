// The scrypt cost of new hashes comes from the board (auth.scryptN), and
// `edgemq audit` says when a password file's hashes are far cheaper or dearer
// than the board's setting (issue 16).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { resolveConfig } from '../../src/config/load-config.ts'
import { parseConfigText } from '../../src/config/config-file.ts'
import { auditConfig } from '../../src/audit/audit-config.ts'
import { passwdCommand } from '../../src/cli/commands/passwd.ts'
import { hashPassword } from '../../src/auth/password-hash.ts'
import { removeDir, tempDir } from '../auth/security-broker.ts'

async function boardConfig (board: string, dir: string, passwordFile?: string): Promise<Awaited<ReturnType<typeof resolveConfig>>['config']> {
  const text = `board: ${board}\npersistence: { path: ${JSON.stringify(join(dir, 'data'))} }\n${passwordFile === undefined ? '' : `auth: { passwordFile: ${passwordFile} }\n`}`
  return (await resolveConfig({ file: parseConfigText(text, join(dir, 'site.yaml')) })).config
}

async function passwd (args: string[], input: string): Promise<{ code: number, out: string, err: string }> {
  const stdout = new PassThrough(); const stderr = new PassThrough(); const stdin = new PassThrough()
  let out = ''; let err = ''
  stdout.on('data', (d) => { out += d }); stderr.on('data', (d) => { err += d })
  stdin.end(input)
  const code = await passwdCommand.run(args, { stdout, stderr, stdin, env: {} })
  return { code, out, err }
}

test('boards set auth.scryptN: a Pi Zero 2 W gets a cheaper scrypt than a Pi 5; generic keeps the 16 MiB default', async () => {
  const dir = await tempDir()
  try {
    const n = async (b: string): Promise<number | undefined> => ((await boardConfig(b, dir)).auth as { scryptN?: number }).scryptN
    assert.is(await n('rpi-zero-2w'), 8192)
    assert.is(await n('rpi-5'), 32_768)
    assert.is(await n('generic'), 16_384)
    assert.ok((await n('rpi-zero-2w'))! < (await n('rpi-5'))!)
  } finally { await removeDir(dir) }
})

test('edgemq passwd hashes with the board\'s cost (--board), or --cost; a bad --cost is a usage error', async () => {
  const dir = await tempDir()
  try {
    const file = join(dir, 'passwd')
    let r = await passwd(['--stdin', '--board', 'rpi-zero-2w', file, 'zero'], 'pw-zero\n')
    assert.is(r.code, 0, r.err)
    assert.match(r.out, /N=8192 r=8 \(8 MiB\)/)
    r = await passwd(['--stdin', '--board', 'rpi-5', file, 'five'], 'pw-five\n')
    assert.is(r.code, 0, r.err)
    r = await passwd(['--stdin', '--cost', '2048', file, 'cheap'], 'pw-cheap\n')
    assert.is(r.code, 0, r.err)
    const text = await readFile(file, 'utf8')
    assert.match(text, /^zero:\$scrypt\$8192\$8\$1\$/m)
    assert.match(text, /^five:\$scrypt\$32768\$8\$1\$/m)
    assert.match(text, /^cheap:\$scrypt\$2048\$8\$1\$/m)
    r = await passwd(['--stdin', '--cost', '3000', file, 'x'], 'pw\n')
    assert.is(r.code, 2)
    assert.match(r.err, /--cost must be a power of two/)
  } finally { await removeDir(dir) }
})

test('edgemq audit: hashes 4x or more cheaper than the board are medium, 4x or more dearer are low, the board\'s own cost is fine', async () => {
  const dir = await tempDir()
  try {
    const file = join(dir, 'passwd')
    const write = async (N: number): Promise<void> => { await writeFile(file, `u:${await hashPassword(Buffer.from('x'), { N })}\n`, { mode: 0o600 }) }
    const found = async (board: string): Promise<string[]> => (await auditConfig(await boardConfig(board, dir, file))).filter((f) => f.check.startsWith('password-')).map((f) => `${f.severity}:${f.check}`)
    await write(8192)
    assert.equal(await found('rpi-zero-2w'), [], 'the board\'s own cost: no finding (not "weak")')
    assert.equal(await found('rpi-5'), ['medium:password-cost-below-board'], 'a Zero\'s hash on a Pi 5: 4x cheaper to crack than the Pi 5 would make it')
    await write(32_768)
    assert.equal(await found('rpi-zero-2w'), ['low:password-cost-above-board'], 'a Pi 5 hash on a Zero: 4x the memory and time per login')
    assert.equal(await found('rpi-5'), [])
    await write(1024)
    const msgs = (await auditConfig(await boardConfig('generic', dir, file))).filter((f) => f.check === 'password-cost-below-board')
    assert.is(msgs.length, 1)
    assert.match(msgs[0].message, /16x cheaper/)
  } finally { await removeDir(dir) }
})

test.run()
