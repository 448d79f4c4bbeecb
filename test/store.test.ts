// The store as the broker opens it: parts' namespaces sealed at rest.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { resolveConfig } from '../src/config/load-config.ts'
import { parseConfigText } from '../src/config/config-file.ts'
import { openStore } from '../src/store.ts'
import { silentLogger } from '../src/observability/logger.ts'
import { BridgeQueue } from '../src/bridge/bridge-queue.ts'
import { GroupCommitWriter } from '../src/bridge/bridge-store.ts'

const SECRET = 'reading-from-sensor-17:21.5C'

async function configFor (dir: string, encrypted: boolean): Promise<Parameters<typeof openStore>[0]> {
  const yaml = `persistence:\n  path: ${join(dir, 'data')}\n${encrypted ? `  encryptionKeyFile: ${join(dir, 'device.key')}\n` : ''}`
  return (await resolveConfig({ file: parseConfigText(yaml, 'test.yaml'), flags: { board: 'generic' } })).config
}

async function rawBytes (dir: string): Promise<string> {
  let all = ''
  for (const f of await readdir(join(dir, 'data'))) if (/\.(log|ldb)$/.test(f)) all += (await readFile(join(dir, 'data', f))).toString('latin1')
  return all
}

test('with persistence.encryptionKeyFile a part\'s sublevel (the bridge queue) holds no plaintext and reads back after a restart', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'edgemq-store-'))
  try {
    const config = await configFor(dir, true)
    let store = await openStore(config, silentLogger)
    await store.sublevel('bridge').put('q1', Buffer.from(SECRET))
    await store.close()
    assert.not.ok((await rawBytes(dir)).includes(SECRET), 'plaintext on disk')
    store = await openStore(config, silentLogger)
    assert.is((await store.sublevel('bridge').get('q1'))?.toString(), SECRET)
    await store.close()
  } finally { await rm(dir, { recursive: true, force: true }) }
})

test('without it the same value is stored as it is (the test above can fail)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'edgemq-store-'))
  try {
    const store = await openStore(await configFor(dir, false), silentLogger)
    await store.sublevel('bridge').put('q1', Buffer.from(SECRET))
    await store.close()
    assert.ok((await rawBytes(dir)).includes(SECRET))
  } finally { await rm(dir, { recursive: true, force: true }) }
})

test('the bridge queue works through the sealed namespace: queued, restarted, drained in order, no plaintext on disk', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'edgemq-store-'))
  const limits = { maxBytes: 1024 * 1024, maxMessages: 1000, whenFull: 'drop-oldest' as const }
  try {
    const config = await configFor(dir, true)
    let store = await openStore(config, silentLogger)
    let sub = store.sublevel('bridge')
    let w = new GroupCommitWriter(sub as never, { sync: 'always', syncInterval: 1000 })
    let q = await BridgeQueue.open('cloud', sub as never, w, limits, silentLogger)
    for (let i = 0; i < 20; i++) await q.enqueue({ topic: `up/${i}`, payload: Buffer.from(`${SECRET}#${i}`), qos: 1, retain: false, enqueuedAt: i })
    w.close()
    await store.close()
    assert.not.ok((await rawBytes(dir)).includes(SECRET), 'plaintext on disk')
    store = await openStore(config, silentLogger)
    sub = store.sublevel('bridge')
    w = new GroupCommitWriter(sub as never, { sync: 'always', syncInterval: 1000 })
    q = await BridgeQueue.open('cloud', sub as never, w, limits, silentLogger)
    const seen: string[] = []
    const deadline = Date.now() + 5000
    while (seen.length < 20 && Date.now() < deadline) {
      const e = q.next()
      if (e === undefined) { await new Promise((resolve) => setTimeout(resolve, 5)); continue }
      seen.push(e.msg.payload.toString()); q.ack(e)
    }
    assert.equal(seen, Array.from({ length: 20 }, (_, i) => `${SECRET}#${i}`))
    w.close()
    await store.close()
  } finally { await rm(dir, { recursive: true, force: true }) }
})

test.run()
