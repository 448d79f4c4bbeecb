// The envelope in C: test/crypto/c/envelope-check.c, written against the
// TweetNaCl C API and linked here against libsodium (which exports the same
// NaCl functions), reproduces every known-answer vector byte for byte, opens
// them, and refuses the invalid ones for the same reasons as the Node code.
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { readCommittedVectors } from './vectors.ts'

const SOURCE = fileURLToPath(new URL('./c/envelope-check.c', import.meta.url))
const committed = readCommittedVectors() as any
const test = suite<{ dir: string, exe: string }>('envelope in C', { dir: '', exe: '' })

test.before(async (ctx) => {
  ctx.dir = await mkdtemp(join(tmpdir(), 'edgemq-c-'))
  ctx.exe = join(ctx.dir, 'envelope-check')
  const gcc = spawnSync('gcc', ['--version'])
  if (gcc.error !== undefined) throw new Error('gcc is needed for the C interop test: apt-get install gcc')
  const built = spawnSync('gcc', ['-O2', '-Wall', '-Wextra', '-o', ctx.exe, SOURCE, '-l:libsodium.so.23'], { encoding: 'utf8' })
  if (built.status !== 0) throw new Error(`cannot build the C checker (needs libsodium: apt-get install libsodium23, or libsodium-dev):\n${built.stderr}`)
  if (built.stderr.trim() !== '') throw new Error(`the C checker compiles with warnings:\n${built.stderr}`)
})
test.after(async (ctx) => { await rm(ctx.dir, { recursive: true, force: true }) })

function runC (exe: string, lines: string[]): string[] {
  const out = execFileSync(exe, { input: lines.join('\n') + '\n', encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
  return out.split('\n').slice(0, lines.length)
}

const hex = (name: string | undefined): string => name === undefined ? '-' : committed.keys[name].hex
const modeNumber: Record<string, number> = { secretbox: 1, box: 2, anonymous: 3 }
function openLine (envelopeHex: string, openWith: string[]): string {
  const pick = (types: string[]): string => { const n = openWith.find((k) => types.includes(committed.keys[k].type)); return n === undefined ? '-' : committed.keys[n].hex }
  return `O ${envelopeHex} ${pick(['secretbox', 'box-secret'])} ${pick(['box-public'])} ${pick(['sign-public'])}`
}

test('C computes the same key ids', ({ exe }) => {
  const typeByte: Record<string, number> = { secretbox: 1, 'box-public': 2, 'sign-public': 3 }
  const keys = Object.values(committed.keys).filter((k: any) => typeByte[k.type] !== undefined) as Array<{ type: string, hex: string, id: string }>
  const out = runC(exe, keys.map((k) => `K ${typeByte[k.type]} ${k.hex}`))
  assert.equal(out, keys.map((k) => k.id))
})

test('C seals every vector to the same envelope bytes', ({ exe }) => {
  const lines = committed.vectors.map((v: any) => `S ${modeNumber[v.mode]} ${hex(v.seal.key ?? v.seal.to)} ${hex(v.seal.from)} ${v.ephemeralSecretHex ?? '-'} ${hex(v.seal.sign)} ${v.nonceHex} ${v.plaintextHex === '' ? '-' : v.plaintextHex}`)
  const out = runC(exe, lines)
  committed.vectors.forEach((v: any, i: number) => assert.is(out[i], v.envelopeHex, v.name))
})

test('C opens every vector and refuses every invalid one with the same reason', ({ exe }) => {
  const out = runC(exe, committed.vectors.map((v: any) => openLine(v.envelopeHex, v.openWith)))
  committed.vectors.forEach((v: any, i: number) => assert.is(out[i], v.plaintextHex, v.name))
  const bad = runC(exe, committed.invalid.map((v: any) => openLine(v.envelopeHex, v.openWith)))
  committed.invalid.forEach((v: any, i: number) => assert.is(bad[i], `FAIL ${v.reason}`, v.name))
})

test('C refuses every single-bit flip of every vector', ({ exe }) => {
  const lines: string[] = []
  for (const v of committed.vectors) {
    const env = Buffer.from(v.envelopeHex, 'hex')
    for (let i = 0; i < env.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const flipped = Buffer.from(env); flipped[i] ^= 1 << bit
        lines.push(openLine(flipped.toString('hex'), v.openWith))
      }
    }
  }
  const out = runC(exe, lines)
  const opened = out.filter((l) => !l.startsWith('FAIL '))
  assert.is(opened.length, 0, `C opened ${opened.length} tampered envelopes`)
})

test.run()
