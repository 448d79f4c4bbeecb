// The http listeners' token files reload in two halves: a refused reload (a
// later step failing after this one committed) puts the old tokens back.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import type { IncomingMessage } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { HttpAccess } from '../../src/observability/http-access.ts'
import { Observatory } from '../../src/observability/observatory.ts'
import type { EdgemqConfig, ListenerConfig } from '../../src/config/types.ts'

const dir = mkdtempSync(join(tmpdir(), 'edgemq-http-access-'))
const file = (name: string, token: string): string => { const p = join(dir, name); writeFileSync(p, token + '\n', { mode: 0o600 }); return p }
const listener = (tokenFile: string): ListenerConfig => ({ name: 'web', type: 'http', host: '127.0.0.1', port: 0, tokenFile } as unknown as ListenerConfig)
const config = (l: ListenerConfig): EdgemqConfig => ({ listeners: [l] } as unknown as EdgemqConfig)
const bearer = (token: string): IncomingMessage => ({ headers: { authorization: `Bearer ${token}` } } as unknown as IncomingMessage)

test('prepare changes nothing; commit swaps the tokens in; undo puts the old ones back', async () => {
  const access = new HttpAccess(new Observatory())
  const oldL = listener(file('old', 'old-token-0123456789abcdef'))
  const newL = listener(file('new', 'new-token-0123456789abcdef'))
  await access.load(config(oldL))
  const tokens = await access.prepare(config(newL))
  assert.ok((await access.check(oldL, bearer('old-token-0123456789abcdef'), '127.0.0.1')).ok, 'prepare must not apply')
  tokens.commit()
  assert.ok((await access.check(newL, bearer('new-token-0123456789abcdef'), '127.0.0.1')).ok)
  assert.not.ok((await access.check(newL, bearer('old-token-0123456789abcdef'), '127.0.0.1')).ok)
  tokens.undo()
  assert.ok((await access.check(oldL, bearer('old-token-0123456789abcdef'), '127.0.0.1')).ok, 'undo must restore the old token')
  assert.not.ok((await access.check(oldL, bearer('new-token-0123456789abcdef'), '127.0.0.1')).ok)
})

test.after(() => { rmSync(dir, { recursive: true, force: true }) })
test.run()
