// Canary of src/engine/silence-packet-debug.mjs: mqtt-packet 9.0.2 takes its
// loggers from `require('debug')(namespace)` at load; a bundle built with the
// plugin (as build.mjs builds dist/edgemq.mjs) gives it the shim, parses and
// writes packets the same, prints nothing, and DEBUG=mqtt-packet:* still
// prints mqtt-packet's lines.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
// @ts-expect-error silence-packet-debug.mjs is plain JS (no types); build.mjs runs it
import { silencePacketDebug } from '../../src/engine/silence-packet-debug.mjs'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const require = createRequire(import.meta.url)
const dir = mkdtempSync(join(tmpdir(), 'edgemq-pktdebug-'))
test.after(() => { rmSync(dir, { recursive: true, force: true }) })

// Parses a QoS 1 PUBLISH and writes it back: what the broker does per message.
const ENTRY = `
const mqtt = require('mqtt-packet')
const packet = { cmd: 'publish', topic: 'a/b', payload: Buffer.from('hello'), qos: 1, messageId: 7, retain: false, dup: false }
const bytes = mqtt.generate(packet)
const parser = mqtt.parser({ protocolVersion: 4 })
let parsed
parser.on('packet', (p) => { parsed = p })
parser.parse(bytes)
const chunks = []
mqtt.writeToStream(parsed, { write (c) { chunks.push(Buffer.from(c)); return true }, cork () {}, uncork () {} }, { protocolVersion: 4 })
process.stdout.write(JSON.stringify({ topic: parsed.topic, payload: parsed.payload.toString(), messageId: parsed.messageId, same: Buffer.concat(chunks).equals(bytes) }))
`

async function bundle (plugins: unknown[]): Promise<string> {
  const out = await build({ stdin: { contents: ENTRY, resolveDir: ROOT, loader: 'js' }, bundle: true, platform: 'node', format: 'cjs', write: false, logLevel: 'silent', plugins: plugins as never })
  return out.outputFiles[0].text
}

function run (code: string, env: NodeJS.ProcessEnv): { stdout: string, stderr: string } {
  const file = join(dir, `b-${Math.random().toString(36).slice(2)}.cjs`)
  writeFileSync(file, code)
  const r = spawnSync(process.execPath, [file], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8' })
  assert.is(r.status, 0, r.stderr)
  return { stdout: r.stdout, stderr: r.stderr }
}

test('mqtt-packet takes its loggers from require(\'debug\')(namespace)', () => {
  const dirOf = join(require.resolve('mqtt-packet/package.json'), '..')
  assert.match(readFileSync(join(dirOf, 'parser.js'), 'utf8'), /require\('debug'\)\('mqtt-packet:parser'\)/)
  assert.match(readFileSync(join(dirOf, 'writeToStream.js'), 'utf8'), /require\('debug'\)\('mqtt-packet:writeToStream'\)/)
})

test('a bundle with the plugin gives mqtt-packet the shim and only mqtt-packet', async () => {
  const plain = await bundle([])
  const silenced = await bundle([silencePacketDebug])
  assert.not.match(plain, 'createPacketDebug')
  assert.match(silenced, 'createPacketDebug')
  // the real package is still bundled (the shim hands it out when DEBUG asks for it)
  assert.match(silenced, 'function createDebug(namespace)')
})

test('the silenced bundle parses and writes the same, quietly; DEBUG=mqtt-packet:* still prints', async () => {
  const silenced = await bundle([silencePacketDebug])
  const quiet = run(silenced, {})
  assert.equal(JSON.parse(quiet.stdout), { topic: 'a/b', payload: 'hello', messageId: 7, same: true })
  assert.is(quiet.stderr, '')
  const loud = run(silenced, { DEBUG: 'mqtt-packet:*' })
  assert.equal(JSON.parse(loud.stdout), { topic: 'a/b', payload: 'hello', messageId: 7, same: true })
  assert.match(loud.stderr, 'mqtt-packet:parser')
  assert.match(loud.stderr, 'mqtt-packet:writeToStream')
})

test.run()
