// One boundary with the protocol engine: only src/engine/ imports aedes,
// mqemitter or mqtt-packet, or touches their internals. Everything else sees
// edgemq's own types (the hook lists, the store contract, PartContext), so an
// aedes upgrade is a change to one folder, checked by its canaries in
// test/engine/. This test fails when a file elsewhere reaches past that line.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { codeOnly, importsOf, listSourceFiles, ROOT, withoutComments } from './source-graph.ts'

// The engine's packages: the protocol engine, its emitter and its packet codec.
const ENGINE_PACKAGES = /^(?:aedes|aedes-packet|aedes-persistence|mqemitter|mqtt-packet)(?:\/|$)/

// Members of aedes's client and broker objects (and of mqemitter and
// mqtt-packet) that edgemq overrides or reads; private ones start with "_".
const INTERNALS = String.raw`\._[A-Za-z]\w*|\[\s*['"]_[A-Za-z]\w*['"]\s*\]|\.(?:duplicates|deliver0|deliverQoS|writeToStream|rejectPacketTooLarge|connackSent|mq)\b|\.(?:handle|authenticate|authorizeForward|authorizePublish|authorizeSubscribe|preConnect|incomingStorePacket|incomingDelPacket|outgoingStream|createRetainedStreamCombi)\s*=(?!=)`
// The same members named as strings (Object.defineProperty(client, 'duplicates', ...)).
const INTERNAL_KEYS = /['"](?:_[A-Za-z]\w*|duplicates|deliver0|deliverQoS|writeToStream|rejectPacketTooLarge)['"]/g

/** Engine-package imports and internal touches in one file's source. */
export function boundaryViolations (source: string): string[] {
  const found = importsOf(source).filter((s) => ENGINE_PACKAGES.test(s)).map((s) => `imports ${s}`)
  for (const m of codeOnly(source).matchAll(new RegExp(INTERNALS, 'g'))) found.push(`touches ${m[0].replace(/\s+/g, '')}`)
  for (const m of withoutComments(source).matchAll(INTERNAL_KEYS)) found.push(`touches ${m[0]}`)
  return found
}

test('only src/engine/ imports aedes, mqemitter or mqtt-packet, or touches their internals', () => {
  const offenders: string[] = []
  for (const file of listSourceFiles()) {
    if (file.startsWith('src/engine/')) continue
    const found = boundaryViolations(readFileSync(join(ROOT, file), 'utf8'))
    if (found.length > 0) offenders.push(`${file}: ${[...new Set(found)].join(', ')}`)
  }
  assert.equal(offenders, [], 'move the touch into its own override file in src/engine/ (see docs/engine.md)')
})

test('every file in src/engine/ says what aedes does and what edgemq does instead, and names its canary', () => {
  const missing: string[] = []
  for (const file of listSourceFiles(join(ROOT, 'src/engine'))) {
    const head = readFileSync(join(ROOT, file), 'utf8').split('\n').filter((l) => l.startsWith('//')).join('\n')
    const canary = /test\/engine\/([\w-]+\.test\.ts)/.exec(head)
    if (canary === null && !/^\/\/ (The engine|The size of)/.test(head)) missing.push(`${file}: no canary named in its header`)
    if (canary !== null) {
      try { readFileSync(join(ROOT, 'test/engine', canary[1])) } catch { missing.push(`${file}: canary test/engine/${canary[1]} does not exist`) }
    }
  }
  assert.equal(missing, [])
})

test('the checker sees imports and private touches, and not comments or strings', () => {
  assert.equal(boundaryViolations("import { Aedes } from 'aedes'"), ['imports aedes'])
  assert.equal(boundaryViolations("import type { Client } from 'aedes/types/client'"), ['imports aedes/types/client'])
  assert.equal(boundaryViolations('(client as any)._serverKeepAlive = 5'), ['touches ._serverKeepAlive'])
  assert.equal(boundaryViolations('Object.assign(aedes.mq, {})'), ['touches .mq'])
  assert.equal(boundaryViolations('mqttPacket.writeToStream = fast'), ['touches .writeToStream'])
  assert.equal(boundaryViolations("broker.authenticate = (c) => c\nconst ok = broker.authenticate === x"), ['touches .authenticate='])
  assert.equal(boundaryViolations("Object.defineProperty(client, 'duplicates', { value: x })"), ["touches 'duplicates'"])
  assert.equal(boundaryViolations('s.incomingStorePacket = async function () {}'), ['touches .incomingStorePacket='])
  assert.equal(boundaryViolations("// sets _serverKeepAlive on the client\nconst s = 'client.duplicates'"), [])
})

test.run()
