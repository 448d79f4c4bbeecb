// Runs aedes-persistence's own contract suite (abstract.js, written for
// node:test) against LevelPersistence, one fresh LevelDB per test. Started by
// aedes-contract.test.ts as `node --import tsx --test <this file>`; not a uvu file.
import { test, after } from 'node:test'
import { createRequire } from 'node:module'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLevelPersistence } from '../../src/persistence/level-persistence.ts'

const require = createRequire(import.meta.url)
const abstractPersistence = require('aedes-persistence/abstract.js') as (opts: unknown) => void

const root = mkdtempSync(join(tmpdir(), 'edgemq-contract-'))
let n = 0
after(() => { rmSync(root, { recursive: true, force: true }) })

const mode = (process.env.EDGEMQ_CONTRACT_SYNC ?? 'batch') as 'always' | 'batch' | 'never'

abstractPersistence({
  test,
  testAsync: true,
  persistence: () => createLevelPersistence({
    path: join(root, `db-${++n}`),
    sync: mode,
    syncInterval: 50,
    cacheSize: 1 << 20,
    writeBufferSize: 1 << 20
  })
})
