// The store on a real LevelDB in a temp folder, as the store's unit tests open
// it: one folder per file, a fresh database per test, small caches.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { createLevelPersistence, type LevelPersistence, type LevelPersistenceOptions } from '../../src/persistence/level-persistence.ts'

/** What a store test needs; call remove() when the file's tests are done. */
export interface StoreFixture {
  /** A new database path in the folder. */
  fresh: () => string
  /** Opens (and sets up, as broker b1) the store at `path`. */
  open: (path: string, extra?: Partial<LevelPersistenceOptions>) => Promise<LevelPersistence>
  /** Everything a stream yields. */
  list: (s: Readable) => Promise<any[]>
  /** A QoS 1 (or `qos`) PUBLISH on topic t from broker b1, with the next broker counter. */
  pub: (payload: string, qos?: number) => Record<string, unknown>
  remove: () => void
}

/** A temp folder named `prefix…` for one test file's databases. */
export function storeFixture (prefix: string): StoreFixture {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  let n = 0
  let counter = 0
  return {
    fresh: () => join(dir, `db-${++n}`),
    open: async (path, extra = {}) => {
      const p = createLevelPersistence({ path, sync: 'batch', syncInterval: 1000, cacheSize: 1 << 20, writeBufferSize: 1 << 20, ...extra })
      await p.setup({ id: 'b1' })
      return p
    },
    list: async (s) => { const out: any[] = []; for await (const x of s) out.push(x); return out },
    pub: (payload, qos = 1) => ({ cmd: 'publish', topic: 't', payload: Buffer.from(payload), qos, retain: false, dup: false, brokerId: 'b1', brokerCounter: ++counter }),
    remove: () => { rmSync(dir, { recursive: true, force: true }) }
  }
}
