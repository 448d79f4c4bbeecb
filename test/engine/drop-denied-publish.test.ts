// Canary for src/engine/drop-denied-publish.ts: the pinned aedes still passes a
// 3.1.1 client's authorizePublish error straight to the close path, and still
// drops (without publishing or acknowledging) a packet marked _notAuthorized.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { REPO_ROOT } from '../helpers/broker-process.ts'

const publish = readFileSync(join(REPO_ROOT, 'node_modules/aedes/lib/handlers/publish.js'), 'utf8')

test('aedes: v3/v4 authorizePublish errors go straight to done (the close)', () => {
  assert.match(publish, /if \(client\.version !== 5\) \{\s*return client\.broker\.authorizePublish\(client, packet, done\)/)
})

test('aedes: enqueuePublish returns at once for a packet marked _notAuthorized', () => {
  assert.match(publish, /if \(packet\._notAuthorized\) \{\s*return done\(\)/)
})

test.run()
