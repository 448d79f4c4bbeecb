// Reason codes live in src/reason-codes.ts only ("map errors to MQTT reason
// codes in one place"): a raw 0x87 or 0x93 elsewhere is a code nobody can
// grep for by name, and two files that disagree on one go unnoticed.
// Comments and strings (option docs, log text) may name a code; code may not.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { codeOnly, listSourceFiles, ROOT } from './source-graph.ts'

// Files whose 0x80-0xA2 literals are bytes of a wire or disk format, not
// reason codes (the continuation bit of a variable byte integer, record tags).
const BYTE_CODECS = new Set([
  'src/reason-codes.ts', // the one place
  'src/core/fixed-header-scanner.ts', // 0x80: continuation bit of the remaining length
  'src/bridge/packet-size-guard.ts',
  'src/core/publish-encoder.ts', // 0x80: continuation bit of the remaining length
  'src/persistence/crc32.ts',
  'src/persistence/store-keys.ts',
  'src/persistence/record-codec.ts',
  'src/auth/revocation-list.ts', // DER: 0x80 long-form length bit, 0xa0 context tag
  'src/engine/check-connect.ts' // 0x80: continuation bit of the remaining length
])

/** Raw reason codes in reason positions: hex 0x80-0xA2 anywhere in code, and any number right after reasonCode/returnCode/deny(/close(. */
export function rawReasonCodes (source: string): string[] {
  const code = codeOnly(source)
  const found: string[] = []
  for (const m of code.matchAll(/\b0x([0-9a-fA-F]{2})\b/g)) {
    const value = parseInt(m[1], 16)
    if (value >= 0x80 && value <= 0xa2) found.push(m[0])
  }
  for (const m of code.matchAll(/\b(?:reasonCode|returnCode)\s*[:=]\s*(?:0x[0-9a-fA-F]+|\d+)\b|\b(?:deny|close|disconnect)\(\s*(?:0x[0-9a-fA-F]+|\d+)\b|\bgranted\[[^\]]*\]\s*=\s*(?:0x[0-9a-fA-F]+|\d+)\b/g)) found.push(m[0])
  return found
}

test('no raw reason code in src/ outside src/reason-codes.ts', () => {
  const offenders: string[] = []
  for (const file of listSourceFiles()) {
    if (BYTE_CODECS.has(file) || file.startsWith('src/crypto/')) continue
    const hits = rawReasonCodes(readFileSync(join(ROOT, file), 'utf8'))
    if (hits.length > 0) offenders.push(`${file}: ${hits.join(', ')}`)
  }
  assert.equal(offenders, [], 'use REASON.*, CONNACK_V3.* or SUBACK_FAILURE_V3 from src/reason-codes.ts')
})

test('the scanner finds raw codes in code and ignores comments and strings', () => {
  assert.equal(rawReasonCodes("return deny(0x93, 'too many')"), ['0x93', 'deny(0x93'])
  assert.equal(rawReasonCodes('done(Object.assign(err, { returnCode: 2 }))'), ['returnCode: 2'])
  assert.equal(rawReasonCodes('client.disconnect({ reasonCode: 149 })'), ['reasonCode: 149'])
  assert.equal(rawReasonCodes("// DISCONNECT 0x95\nconst doc = 'refused with 0x89'\n"), [])
  assert.equal(rawReasonCodes('deny(REASON.NOT_AUTHORIZED, "no")'), [])
})

test.run()
