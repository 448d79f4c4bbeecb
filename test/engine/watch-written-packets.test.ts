// src/engine/watch-written-packets.ts: one wrapper per mqtt-packet module,
// even when other code wraps writeToStream after it and a second broker in the
// same process installs again (observers ran twice per write: topic aliases
// then counted each PUBLISH twice).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { watchWrittenPackets } from '../../src/engine/watch-written-packets.ts'

test('a foreign wrapper in between and a second install: each observer still sees each write once; markers stay visible', () => {
  const written: string[] = []
  const MARK = Symbol('foreign')
  const mod: { writeToStream: (p: { cmd: string }, s: unknown, o?: unknown) => boolean } = { writeToStream: (p) => { written.push(p.cmd); return true } }
  const seen: string[] = []
  const observer = (p: { cmd: string }): undefined => { seen.push(p.cmd); return undefined }
  watchWrittenPackets(mod, observer)
  // another part wraps it after (as src/engine/refusal-reason-codes.ts does), with its own marker
  const inner = mod.writeToStream
  const foreign = Object.assign((p: { cmd: string }, s: unknown, o?: unknown) => inner(p, s, o), { [MARK]: true })
  mod.writeToStream = foreign
  watchWrittenPackets(mod, observer) // a second broker in the same process
  mod.writeToStream({ cmd: 'publish' }, {})
  assert.equal(seen, ['publish'])
  assert.equal(written, ['publish'])
  assert.is((mod.writeToStream as unknown as Record<symbol, unknown>)[MARK], true)
})

test.run()
