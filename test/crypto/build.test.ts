// The `edgemq/crypto` export as a consumer gets it: built with the same
// function build.mjs uses, installed as node_modules/edgemq in a temp folder
// outside the repo (no tweetnacl there), imported through package.json
// "exports", round-tripped, and type-checked against dist/crypto.d.ts.
import { execFileSync } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
// @ts-expect-error build-crypto.mjs is plain JS (no types); it is what build.mjs runs
import { buildCrypto } from '../../src/crypto/build-crypto.mjs'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const test = suite<{ dir: string }>('crypto build', { dir: '' })
test.before(async (ctx) => {
  ctx.dir = await mkdtemp(join(tmpdir(), 'edgemq-cryptobuild-'))
  const pkgDir = join(ctx.dir, 'node_modules', 'edgemq')
  await mkdir(pkgDir, { recursive: true })
  await buildCrypto({ root: ROOT, outDir: join(pkgDir, 'dist'), esbuildOptions: { minify: true } })
  const repoPkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'))
  await writeFile(join(pkgDir, 'package.json'), JSON.stringify({ name: 'edgemq', version: repoPkg.version, type: 'module', exports: repoPkg.exports }))
  await writeFile(join(ctx.dir, 'package.json'), JSON.stringify({ name: 'consumer', type: 'module', private: true }))
})
test.after(async (ctx) => { await rm(ctx.dir, { recursive: true, force: true }) })

const CONSUMER_JS = `
import { keygen, seal, open, keyId, createValueCipher, createTopicSealer, EnvelopeOpenError, writeKeyFile, readKeyFile } from 'edgemq/crypto'
import { join } from 'node:path'
const msg = new TextEncoder().encode('{"t":21.5}')
const shared = keygen('secretbox').secret, a = keygen('box'), b = keygen('box'), s = keygen('sign')
const same = (x, y) => Buffer.from(x).equals(Buffer.from(y))
if (!same(open(seal(msg, { key: shared }), { keys: [shared] }).plaintext, msg)) throw new Error('secretbox')
if (!same(open(seal(msg, { to: b.public, from: a.secret, sign: s.secret }), { keys: [b.secret, a.public, s.public] }).plaintext, msg)) throw new Error('box')
if (!same(open(seal(msg, { to: b.public }), { keys: [b.secret] }).plaintext, msg)) throw new Error('anonymous')
try { open(msg, { keys: [shared] }); throw new Error('opened plaintext') } catch (e) { if (!(e instanceof EnvelopeOpenError) || e.code !== 'EDGEMQ_ERR_CRYPTO_OPEN_FAILED') throw e }
const vc = createValueCipher(shared.bytes)
if (!same(vc.open(vc.seal(msg)), msg)) throw new Error('value cipher')
const ts = createTopicSealer({ mode: 'anonymous', recipientPublicKey: b.public, secretKey: b.secret })
if (!same(ts.open(ts.seal(Buffer.from(msg))), msg)) throw new Error('topic sealer')
await writeKeyFile(join(process.cwd(), 'k'), a.secret)
if ((await readKeyFile(join(process.cwd(), 'k'))).id !== keyId(a.public)) throw new Error('key file')
console.log('round-trip ok')
`

const CONSUMER_TS = `
import { keygen, seal, open, type Key, type OpenResult, type SealOptions } from 'edgemq/crypto'
const k: Key = keygen('secretbox').secret
const options: SealOptions = { key: k }
const r: OpenResult = open(seal(new Uint8Array(1), options), { keys: [k] })
const mode: 'secretbox' | 'box' | 'anonymous' = r.mode
// @ts-expect-error a string is not a payload: the types are real, not any
seal('text', options)
// @ts-expect-error "rsa" is not a keygen type
keygen('rsa')
export { mode }
`

test('dist/crypto.mjs imports through package.json exports outside the repo, without tweetnacl installed, and round-trips', async ({ dir }) => {
  await assert.not.ok(await stat(join(dir, 'node_modules', 'tweetnacl')).catch(() => false))
  await writeFile(join(dir, 'consumer.mjs'), CONSUMER_JS)
  const out = execFileSync(process.execPath, ['consumer.mjs'], { cwd: dir, encoding: 'utf8', timeout: 30_000 })
  assert.match(out, 'round-trip ok')
})

test('dist/crypto.d.ts type-checks a TypeScript consumer and rejects wrong calls', async ({ dir }) => {
  assert.ok(await stat(join(dir, 'node_modules/edgemq/dist/crypto.d.ts')))
  await writeFile(join(dir, 'consumer.ts'), CONSUMER_TS)
  try {
    execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext',
      '--target', 'es2022', '--skipLibCheck', '--types', 'node', '--typeRoots', join(ROOT, 'node_modules/@types'), 'consumer.ts'], { cwd: dir, encoding: 'utf8', timeout: 60_000 })
  } catch (err) {
    assert.unreachable(`tsc failed:\n${(err as { stdout?: string }).stdout ?? String(err)}`)
  }
})

test.run()
