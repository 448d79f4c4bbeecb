// The composition root's one teardown: whatever step of a start fails, or
// when close() runs, everything opened so far is closed (listeners, control
// socket, engine, parts last-attached-first, LevelDB), and a close step that
// throws does not stop the others.
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { startBroker } from '../src/broker.ts'
import { parseConfigText } from '../src/config/config-file.ts'
import { resolveConfig } from '../src/config/load-config.ts'
import type { EdgemqConfig } from '../src/config/types.ts'
import { silentLogger } from '../src/observability/logger.ts'
import type { AttachPart } from '../src/part-context.ts'
import { openStore } from '../src/store.ts'

async function configIn (dir: string, port = 0): Promise<EdgemqConfig> {
  const yaml = `listeners:\n  - { name: tcp, type: tcp, host: 127.0.0.1, port: ${port} }\npersistence: { path: ${join(dir, 'data')} }\ncontrol: { socket: ${join(dir, 'ctl.sock')} }\nsys: { interval: 0 }\n`
  return (await resolveConfig({ file: parseConfigText(yaml, join(dir, 'test.yaml')), flags: { board: 'generic' } })).config
}

/** A part that records its attach and close in `log`; `fail` makes one step throw. */
function recordingPart (name: string, log: string[], fail?: 'attach' | 'close'): AttachPart {
  return async () => {
    if (fail === 'attach') throw new Error(`${name} cannot attach`)
    log.push(`attach ${name}`)
    return { close: async () => { log.push(`close ${name}`); if (fail === 'close') throw new Error(`${name} cannot close`) } }
  }
}

/** The store at the config's path opens again: the failed start released the LevelDB lock. */
async function storeIsFree (config: EdgemqConfig): Promise<void> {
  const store = await openStore(config, silentLogger)
  await store.close()
}

test('a part that cannot attach: the parts before it close (last first), the store is released', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'edgemq-teardown-'))
  try {
    const config = await configIn(dir)
    const log: string[] = []
    const err = await startBroker(config, silentLogger, [recordingPart('a', log), recordingPart('b', log), recordingPart('c', log, 'attach')]).then(() => undefined, (e: Error) => e)
    assert.match(err?.message ?? '', /c cannot attach/)
    assert.equal(log, ['attach a', 'attach b', 'close b', 'close a'])
    await storeIsFree(config)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('a listener that cannot bind (port taken): parts, control socket and store are all closed', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'edgemq-teardown-'))
  const taken = createServer()
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
  try {
    const port = (taken.address() as { port: number }).port
    const config = await configIn(dir, port)
    const log: string[] = []
    const err = await startBroker(config, silentLogger, [recordingPart('a', log)]).then(() => undefined, (e: Error) => e)
    assert.match(err?.message ?? '', /cannot listen/)
    assert.equal(log, ['attach a', 'close a'])
    assert.not.ok(existsSync(join(dir, 'ctl.sock')), 'control socket removed')
    await storeIsFree(config)
  } finally {
    await new Promise<void>((resolve) => taken.close(() => resolve()))
    await rm(dir, { recursive: true, force: true })
  }
})

test('close(): a part whose close throws does not keep the others or the store open; the error is reported', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'edgemq-teardown-'))
  try {
    const config = await configIn(dir)
    const log: string[] = []
    const broker = await startBroker(config, silentLogger, [recordingPart('a', log), recordingPart('b', log, 'close'), recordingPart('c', log)])
    const err = await broker.close().then(() => undefined, (e: Error) => e)
    assert.match(err?.message ?? '', /b cannot close/)
    assert.equal(log, ['attach a', 'attach b', 'attach c', 'close c', 'close b', 'close a'])
    await storeIsFree(config)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test.run()
