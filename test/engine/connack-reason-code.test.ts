// Canary for src/engine/connack-reason-code.ts: the pinned aedes turns an
// authenticate error into a v5 CONNACK through its 3.1.1 table and ignores
// err.reasonCode (so "server busy" went out as 0x88). When this test fails,
// aedes honours the reason code itself and the override can go. The second
// test checks the override on the real broker.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createServer, type AddressInfo } from 'node:net'
import { Aedes } from 'aedes'
import { connectClient } from '../auth/mqtt-connect.ts'
import { startBroker } from '../../src/broker.ts'
import { silentLogger } from '../../src/observability/logger.ts'
import { REASON } from '../../src/reason-codes.ts'
import { configFrom, removeDir, tempDir } from '../auth/security-broker.ts'

async function code (url: string, protocolVersion: 4 | 5): Promise<number> {
  try {
    const c = await connectClient(url, { protocolVersion })
    c.end(true)
    return 0
  } catch (err) {
    return (err as { code?: number }).code ?? -1
  }
}

test('canary: aedes 2.0.0-beta.1 sends 0x88 for an authenticate error with returnCode 3 and reasonCode 0x89', async () => {
  const broker = await Aedes.createBroker({
    authenticate: (_c: unknown, _u: unknown, _p: unknown, done: (err: Error | null, ok: boolean) => void) => {
      done(Object.assign(new Error('busy'), { returnCode: 3, reasonCode: REASON.SERVER_BUSY }), false)
    }
  } as never)
  const server = createServer((s) => { broker.handle(s) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  try {
    const url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`
    assert.is(await code(url, 5), REASON.SERVER_UNAVAILABLE, 'aedes maps 3 to 0x88: the override is still needed')
    assert.is(await code(url, 4), 3)
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()))
    await new Promise<void>((resolve) => broker.close(() => resolve()))
  }
})

test('edgemq: a connect hook\'s reason code reaches the v5 CONNACK; 3.1.1 gets the mapped return code', async () => {
  const dir = await tempDir()
  const config = await configFrom('listeners:\n  - { name: lan, type: tcp, host: 127.0.0.1, port: 0, allowAnonymous: true }\n', dir)
  const b = await startBroker(config, silentLogger)
  let next: number = REASON.SERVER_BUSY
  b.hooks.connect.unshift(() => ({ ok: false, reasonCode: next, reason: 'test' }))
  try {
    const url = `mqtt://127.0.0.1:${b.addresses()[0].port}`
    for (const [reason, v311] of [[REASON.SERVER_BUSY, 3], [REASON.BANNED, 5], [REASON.QUOTA_EXCEEDED, 3], [REASON.NOT_AUTHORIZED, 5], [REASON.BAD_USER_NAME_OR_PASSWORD, 4]]) {
      next = reason
      assert.is(await code(url, 5), reason, `v5 0x${reason.toString(16)}`)
      assert.is(await code(url, 4), v311, `3.1.1 for 0x${reason.toString(16)}`)
    }
  } finally {
    await b.close()
    await removeDir(dir)
  }
})

test.run()
