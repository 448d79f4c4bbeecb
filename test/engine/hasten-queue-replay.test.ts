// Canary of src/engine/hasten-queue-replay.mjs (a build-time change of aedes
// 2.0.0-beta.1): the two lines it changes are in the pinned aedes exactly
// once, a bundle of aedes built with the plugin carries both changes (the
// replay's write callback marked, write() calling a marked callback on
// process.nextTick and every other one on setImmediate), and an aedes whose
// lines moved fails the build instead of shipping unpatched.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
// @ts-expect-error hasten-queue-replay.mjs is plain JS (no types); build.mjs runs it
import { hastenQueueReplay, patchReplaySource, REPLAY_PATCHES } from '../../src/engine/hasten-queue-replay.mjs'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const AEDES = join(ROOT, 'node_modules', 'aedes')
const CONNECT = join(AEDES, 'lib', 'handlers', 'connect.js')
const WRITE = join(AEDES, 'lib', 'write.js')

function occurrences (text: string, needle: string): number {
  return text.split(needle).length - 1
}

test('the pinned aedes is 2.0.0-beta.1 and holds each anchor exactly once', () => {
  assert.is(JSON.parse(readFileSync(join(AEDES, 'package.json'), 'utf8')).version, '2.0.0-beta.1')
  const [connectPatch, writePatch] = REPLAY_PATCHES as Array<{ anchor: string }>
  assert.is(occurrences(readFileSync(CONNECT, 'utf8'), connectPatch.anchor), 1)
  assert.is(occurrences(readFileSync(WRITE, 'utf8'), writePatch.anchor), 1)
  // the replay writes through the callback it marks (emptyQueueFilter: `const next = packet.writeCallback`)
  assert.match(readFileSync(CONNECT, 'utf8'), /const next = packet\.writeCallback[\s\S]*write\(client, packet, next\)/)
})

test('a bundle of aedes built with the plugin carries both changes; without it, neither', async () => {
  const bundle = async (plugins: unknown[]): Promise<string> => {
    const out = await build({ stdin: { contents: "import 'aedes'", resolveDir: ROOT, loader: 'js' }, bundle: true, platform: 'node', format: 'esm', write: false, logLevel: 'silent', plugins: plugins as never })
    return out.outputFiles[0].text
  }
  const plain = await bundle([])
  const hastened = await bundle([hastenQueueReplay])
  assert.is(occurrences(plain, 'edgemqSoon'), 0)
  assert.is(occurrences(hastened, 'packet.writeCallback.edgemqSoon = true'), 1)
  assert.match(hastened, /if \(done\.edgemqSoon === true\) process\.nextTick\(done, error, client\);?\s*else setImmediate\(done, error, client\)/)
})

test('an aedes whose anchor moved fails the build, naming the file', () => {
  assert.throws(() => patchReplaySource(WRITE, 'function write () { queueMicrotask(done) }'), (err: Error) => err.message.includes('write.js') && err.message.includes('exactly once'))
  // other files pass through untouched
  assert.is(patchReplaySource('/x/node_modules/aedes/lib/client.js', 'same'), 'same')
})

test.run()
