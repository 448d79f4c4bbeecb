// edgemq keygen / seal / open, run in-process with injected streams, and once
// through the real CLI entry with a real pipe.
import { spawnSync } from 'node:child_process'
import { mkdtemp, readFile, rm, stat, chmod } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough, Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import type { CliCommand } from '../../src/cli/cli-command.ts'
import { keygenCommand } from '../../src/cli/commands/keygen.ts'
import { openCommand } from '../../src/cli/commands/open.ts'
import { sealCommand } from '../../src/cli/commands/seal.ts'
import { COMMANDS } from '../../src/cli/command-list.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const test = suite<{ dir: string }>('crypto commands', { dir: '' })
test.before.each(async (ctx) => { ctx.dir = await mkdtemp(join(tmpdir(), 'edgemq-cryptocli-')) })
test.after.each(async (ctx) => { await rm(ctx.dir, { recursive: true, force: true }) })

interface Run { code: number, stdout: Buffer, stderr: string }

async function run (command: CliCommand, args: string[], stdin: Uint8Array | string = ''): Promise<Run> {
  const out: Buffer[] = []; const err: Buffer[] = []
  const stdout = new PassThrough(); const stderr = new PassThrough()
  stdout.on('data', (d: Buffer) => out.push(d)); stderr.on('data', (d: Buffer) => err.push(d))
  const code = await command.run(args, { stdin: Readable.from([Buffer.from(stdin)]), stdout, stderr, env: {} })
  return { code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() }
}

test('the three commands are registered in the command list', () => {
  for (const name of ['keygen', 'seal', 'open']) assert.ok(COMMANDS.some((c) => c.name === name), name)
})

test('--help on each prints its usage and exits 0', async () => {
  for (const c of [keygenCommand, sealCommand, openCommand]) {
    const r = await run(c, ['--help'])
    assert.is(r.code, 0)
    assert.match(r.stdout.toString(), `usage: edgemq ${c.name}`)
  }
})

test('keygen writes secret 0600 and public 0644 files and prints the key id', async ({ dir }) => {
  for (const type of ['box', 'sign']) {
    const r = await run(keygenCommand, ['--type', type, '--out', join(dir, `${type}.key`)])
    assert.is(r.code, 0, r.stderr)
    assert.is((await stat(join(dir, `${type}.key`))).mode & 0o777, 0o600)
    assert.is((await stat(join(dir, `${type}.key.pub`))).mode & 0o777, 0o644)
    const id = /key ([0-9a-f]{16}) written/.exec(r.stdout.toString())?.[1]
    assert.ok(id !== undefined)
    assert.match(await readFile(join(dir, `${type}.key.pub`), 'utf8'), id)
  }
  const r = await run(keygenCommand, ['--type', 'secretbox', '--out', join(dir, 's.key')])
  assert.is(r.code, 0)
  await assert.not.ok(await stat(join(dir, 's.key.pub')).catch(() => false), 'no public file for a shared key')
})

test('keygen usage errors exit 2; an existing file exits 1 unless --force', async ({ dir }) => {
  assert.is((await run(keygenCommand, ['--out', join(dir, 'k')])).code, 2)
  assert.is((await run(keygenCommand, ['--type', 'rsa', '--out', join(dir, 'k')])).code, 2)
  assert.is((await run(keygenCommand, ['--type', 'box'])).code, 2)
  assert.is((await run(keygenCommand, ['--type', 'box', '--out', join(dir, 'k')])).code, 0)
  const again = await run(keygenCommand, ['--type', 'box', '--out', join(dir, 'k')])
  assert.is(again.code, 1)
  assert.match(again.stderr, 'already exists')
  assert.is((await run(keygenCommand, ['--type', 'box', '--out', join(dir, 'k'), '--force'])).code, 0)
})

test('seal then open round-trips in every mode, with and without signatures, raw and base64', async ({ dir }) => {
  const k = (n: string): string => join(dir, n)
  await run(keygenCommand, ['--type', 'secretbox', '--out', k('shared.key')])
  await run(keygenCommand, ['--type', 'box', '--out', k('sensor.key')])
  await run(keygenCommand, ['--type', 'box', '--out', k('cloud.key')])
  await run(keygenCommand, ['--type', 'sign', '--out', k('sign.key')])
  const cases: Array<[string[], string[]]> = [
    [['--key', k('shared.key')], ['--key', k('shared.key')]],
    [['--to', k('cloud.key.pub'), '--from', k('sensor.key')], ['--key', k('cloud.key'), '--from', k('sensor.key.pub')]],
    [['--to', k('cloud.key.pub')], ['--key', k('cloud.key')]],
    [['--to', k('cloud.key.pub'), '--sign', k('sign.key')], ['--key', k('cloud.key'), '--verify', k('sign.key.pub')]]
  ]
  const plain = Buffer.from([0, 1, 2, 255, 10, 13, 0x45, 0x4d])
  for (const [sealArgs, openArgs] of cases) {
    const sealed = await run(sealCommand, sealArgs, plain)
    assert.is(sealed.code, 0, sealed.stderr)
    const opened = await run(openCommand, [...openArgs, '--info'], sealed.stdout)
    assert.is(opened.code, 0, opened.stderr)
    assert.equal(opened.stdout, plain)
    assert.match(opened.stderr, 'opened ')
    const b64 = await run(sealCommand, [...sealArgs, '--format', 'base64'], plain)
    assert.match(b64.stdout.toString(), /^[A-Za-z0-9+/=]+\n$/)
    assert.equal((await run(openCommand, [...openArgs, '--format', 'base64'], b64.stdout)).stdout, plain)
  }
})

test('open of a tampered, truncated, wrong-key or plaintext input exits 1, says why, and writes nothing to stdout', async ({ dir }) => {
  const k = (n: string): string => join(dir, n)
  await run(keygenCommand, ['--type', 'box', '--out', k('cloud.key')])
  await run(keygenCommand, ['--type', 'box', '--out', k('other.key')])
  const sealed = (await run(sealCommand, ['--to', k('cloud.key.pub')], 'secret reading')).stdout
  const flipped = Buffer.from(sealed); flipped[60] ^= 0x10
  const cases: Array<[Uint8Array | string, string[], string]> = [
    [flipped, ['--key', k('cloud.key')], '(decrypt-failed)'],
    [sealed.subarray(0, 50), ['--key', k('cloud.key')], '(truncated)'],
    [sealed, ['--key', k('other.key')], '(unknown-key)'],
    ['secret reading', ['--key', k('cloud.key')], '(not-envelope)'],
    [sealed, ['--key', k('cloud.key'), '--mode', 'box'], '(mode-not-allowed)'],
    [sealed, ['--key', k('cloud.key'), '--max-bytes', '64'], '(too-large)']
  ]
  for (const [input, args, reason] of cases) {
    const r = await run(openCommand, args, input)
    assert.is(r.code, 1, reason)
    assert.is(r.stdout.length, 0, reason)
    assert.match(r.stderr, `edgemq open: cannot open envelope ${reason}`)
  }
})

test('insecure key files, missing keys and bad flags are clear errors', async ({ dir }) => {
  const k = (n: string): string => join(dir, n)
  await run(keygenCommand, ['--type', 'box', '--out', k('cloud.key')])
  await chmod(k('cloud.key'), 0o644)
  const insecure = await run(openCommand, ['--key', k('cloud.key')], 'x')
  assert.is(insecure.code, 1)
  assert.match(insecure.stderr, `chmod 600 ${k('cloud.key')}`)
  assert.is((await run(sealCommand, [], 'x')).code, 2)
  assert.is((await run(sealCommand, ['--from', k('cloud.key')], 'x')).code, 2)
  assert.is((await run(sealCommand, ['--to', k('cloud.key.pub'), '--format', 'pem'], 'x')).code, 2)
  assert.is((await run(openCommand, [], 'x')).code, 2)
  assert.is((await run(openCommand, ['--key', k('cloud.key'), '--mode', 'rsa'], 'x')).code, 2)
  await chmod(k('cloud.key'), 0o600)
  const wrongType = await run(sealCommand, ['--to', k('cloud.key')], 'x')
  assert.is(wrongType.code, 1)
  assert.match(wrongType.stderr, 'expected box-public')
  const tooBig = await run(sealCommand, ['--to', k('cloud.key.pub'), '--max-bytes', '100'], 'x'.repeat(50))
  assert.is(tooBig.code, 1)
  assert.match(tooBig.stderr, 'over --max-bytes 100')
})

test('through the real CLI entry: keygen, then seal | open over OS pipes', async ({ dir }) => {
  const main = join(ROOT, 'src/cli/main.ts')
  const cli = (args: string[], input?: Buffer): ReturnType<typeof spawnSync> =>
    spawnSync(process.execPath, ['--import', 'tsx', main, ...args], { cwd: ROOT, input, timeout: 30_000 })
  const kg = cli(['keygen', '--type', 'box', '--out', join(dir, 'c.key')])
  assert.is(kg.status, 0, String(kg.stderr))
  const plain = Buffer.alloc(100_000, 7)
  const sealed = cli(['seal', '--to', join(dir, 'c.key.pub')], plain)
  assert.is(sealed.status, 0, String(sealed.stderr))
  const opened = cli(['open', '--key', join(dir, 'c.key')], sealed.stdout as Buffer)
  assert.is(opened.status, 0, String(opened.stderr))
  assert.equal(opened.stdout, plain)
  const bad = cli(['open', '--key', join(dir, 'c.key')], Buffer.from('plain'))
  assert.is(bad.status, 1)
  assert.is((bad.stdout as Buffer).length, 0)
})

test.run()
