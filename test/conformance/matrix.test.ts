// The conformance matrix (docs/conformance.md) is a claim; this keeps it true.
// It reads the statement lists (test/conformance/statements-*.txt), the matrix
// and the test files, and fails when a statement has no row (or two), a row
// names a statement that is not in the list, a "tested" row names a file or a
// test that does not exist, a row without a test gives no reason, or the
// counts printed above each table are wrong. It also checks that every
// intended difference from Mosquitto is explained in the same page.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { REPO_ROOT } from '../helpers/broker-process.ts'

const STATUSES = ['tested', 'client-only', 'n/a', 'not yet tested'] as const
type Status = typeof STATUSES[number]
interface Statement { id: string, binds: string }
interface Row { id: string, binds: string, status: Status, refs: Array<{ file: string, name: string }>, text: string, line: number }

const read = (path: string): string => readFileSync(join(REPO_ROOT, path), 'utf8')
const DOC = 'docs/conformance.md'

/** id | binds | paraphrase, one per line; # comments. */
function readStatements (path: string): Statement[] {
  return read(path).split('\n').filter((l) => l.startsWith('MQTT')).map((l) => {
    const [id, binds] = l.split('|').map((x) => x.trim())
    return { id, binds }
  })
}

/** The rows of the table under a "## <heading>" of the matrix. */
function readRows (heading: string): { rows: Row[], summary: string | undefined } {
  const lines = read(DOC).split('\n')
  const start = lines.findIndex((l) => l.trim() === `## ${heading}`)
  assert.ok(start >= 0, `${DOC} has no "## ${heading}" section`)
  let end = lines.findIndex((l, i) => i > start && l.startsWith('## '))
  if (end < 0) end = lines.length
  const rows: Row[] = []
  let summary: string | undefined
  for (let i = start + 1; i < end; i++) {
    const l = lines[i]
    if (/^\d+ statements:/.test(l)) summary = l
    if (!l.startsWith('| MQTT')) continue
    const cells = l.slice(1, l.endsWith('|') ? -1 : undefined).split('|').map((c) => c.trim())
    assert.is(cells.length, 4, `${DOC}:${i + 1}: a row has 4 cells (statement, binds, status, test or reason): ${l}`)
    const [id, binds, status, where] = cells
    const refs: Row['refs'] = []
    const notes: string[] = []
    for (const part of where.split('<br>').map((p) => p.trim()).filter((p) => p !== '')) {
      const m = /^`([^`]+)` › (.+)$/.exec(part)
      if (m !== null) refs.push({ file: m[1], name: m[2].replace(/&#124;/g, '|') })
      else notes.push(part)
    }
    rows.push({ id, binds, status: status as Status, refs, text: notes.join(' '), line: i + 1 })
  }
  return { rows, summary }
}

const namesCache = new Map<string, string[]>()
/** The names of the tests a file defines: test('...'), test.skip('...'), scenario('...'), a named uvu suite Rules('...'); template literals as written. */
function testNames (file: string): string[] {
  let names = namesCache.get(file)
  if (names === undefined) {
    const src = read(file)
    names = [...src.matchAll(/^\s*(?:test|scenario|[A-Z][A-Za-z]*)(?:\.skip)?\(\s*(['`])((?:\\.|(?!\1).)*)\1/gm)].map((m) => m[2].replace(/\\'/g, "'"))
    namesCache.set(file, names)
  }
  return names
}

function checkSection (heading: string, statementsFile: string): void {
  const statements = readStatements(statementsFile)
  const { rows, summary } = readRows(heading)
  const problems: string[] = []
  const ids = new Set(statements.map((s) => s.id))
  if (ids.size !== statements.length) problems.push(`${statementsFile} lists a statement twice`)
  for (const s of statements) {
    const mine = rows.filter((r) => r.id === s.id)
    if (mine.length === 0) problems.push(`${s.id} has no row in ${DOC} (${heading})`)
    if (mine.length > 1) problems.push(`${s.id} has ${mine.length} rows in ${DOC} (${heading}), at lines ${mine.map((r) => r.line).join(', ')}`)
    for (const r of mine) if (r.binds !== s.binds) problems.push(`${DOC}:${r.line}: ${s.id} binds ${s.binds} in ${statementsFile}, ${r.binds} in the matrix`)
  }
  for (const r of rows) {
    const where = `${DOC}:${r.line} ${r.id}`
    if (!ids.has(r.id)) problems.push(`${where}: not a statement of ${statementsFile}`)
    if (!STATUSES.includes(r.status)) problems.push(`${where}: status "${r.status}" is not one of ${STATUSES.join(', ')}`)
    if (r.status === 'tested' && r.refs.length === 0) problems.push(`${where}: "tested" but no test named`)
    if ((r.status === 'n/a' || r.status === 'client-only') && r.text === '') problems.push(`${where}: "${r.status}" without a reason`)
    for (const ref of r.refs) {
      if (!existsSync(join(REPO_ROOT, ref.file))) { problems.push(`${where}: ${ref.file} does not exist`); continue }
      if (!testNames(ref.file).includes(ref.name)) problems.push(`${where}: ${ref.file} has no test named "${ref.name}"`)
    }
  }
  const counts: Record<string, number> = {}
  for (const r of rows) counts[r.status] = (counts[r.status] ?? 0) + 1
  const expected = `${rows.length} statements: ${Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${v} ${k}`).join(', ')}`
  if (summary !== expected) problems.push(`${DOC} (${heading}): the summary line says "${summary ?? '(none)'}", the rows say "${expected}"`)
  assert.equal(problems, [], problems.join('\n'))
}

test('every MQTT 3.1.1 statement has one row, and every test it names exists', () => {
  checkSection('MQTT 3.1.1', 'test/conformance/statements-3.1.1.txt')
})

test('every MQTT 5.0 statement has one row, and every test it names exists', () => {
  checkSection('MQTT 5.0', 'test/conformance/statements-5.0.txt')
})

test('the statement lists hold the numbered statements of both specs (no section lost)', () => {
  // Spot checks across the chapters: a truncated list would miss some of these.
  const v311 = readStatements('test/conformance/statements-3.1.1.txt').map((s) => s.id)
  const v5 = readStatements('test/conformance/statements-5.0.txt').map((s) => s.id)
  for (const id of ['MQTT-1.5.3-1', 'MQTT-3.1.2-24', 'MQTT-3.3.5-2', 'MQTT-3-8.3-4', 'MQTT-3.14.4-3', 'MQTT-4.8.0-2', 'MQTT-7.1.2-1']) assert.ok(v311.includes(id), `3.1.1 list lacks ${id}`)
  for (const id of ['MQTT-1.5.7-1', 'MQTT-3.1.2-30', 'MQTT-3.2.2-22', 'MQTT-3.3.4-10', 'MQTT-3.15.2-3', 'MQTT-4.12.1-2', 'MQTT-4.13.2-1', 'MQTT-6.0.0-4']) assert.ok(v5.includes(id), `5.0 list lacks ${id}`)
  assert.ok(v311.length >= 139, `3.1.1: ${v311.length} statements`)
  assert.ok(v5.length >= 250, `5.0: ${v5.length} statements`)
})

test('every intended difference from Mosquitto is a scenario of the differential test and is explained in docs/conformance.md', () => {
  const file = 'test/conformance/mosquitto-diff.test.ts'
  const src = read(file)
  const table = src.slice(src.indexOf('export const INTENDED_DIFFERENCES'), src.indexOf('test.before('))
  const keys = [...table.matchAll(/^ {2}'((?:[^'\\]|\\.)+)': \{/gm)].map((m) => m[1].replace(/\\'/g, "'"))
  assert.ok(keys.length > 0, 'INTENDED_DIFFERENCES not found')
  const doc = read(DOC)
  const section = doc.slice(doc.indexOf('## Intended differences from Mosquitto'), doc.indexOf('\n## ', doc.indexOf('## Intended differences from Mosquitto') + 5))
  for (const k of keys) {
    assert.ok(testNames(file).includes(k), `INTENDED_DIFFERENCES has "${k}", which is not a scenario`)
    assert.ok(section.includes(`| ${k} |`), `"${k}" is not explained in ${DOC} (## Intended differences from Mosquitto)`)
  }
})

test.run()
