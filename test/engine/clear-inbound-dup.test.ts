// Canary for src/engine/clear-inbound-dup.ts: the pinned aedes-packet still
// copies `dup` from the packet it is built from (if it stops, the override can go).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { REPO_ROOT } from '../helpers/broker-process.ts'

test('aedes-packet copies dup from the original packet', () => {
  assert.match(readFileSync(join(REPO_ROOT, 'node_modules/aedes-packet/packet.js'), 'utf8'), /this\.dup = original\.dup \|\| false/)
})

test.run()
