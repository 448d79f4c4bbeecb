// docs/limits.md carries the option rows and the per-board values of every
// limit, generated from the option table and boards/*.json, so the page
// cannot drift. EDGEMQ_UPDATE_DOCS=1 rewrites the generated sections.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { OPTION_TABLE } from '../../src/config/option-table.ts'
import { renderBoardTable, renderOptionTable } from '../../src/config/render-options.ts'
import { REPO_ROOT } from '../helpers/broker-process.ts'

const DOC = join(REPO_ROOT, 'docs/limits.md')
const OPTIONS = OPTION_TABLE.filter((o) => /^(limits|memory|throttle|runtime)\./.test(o.key))
const SECTIONS: Record<string, string> = {
  boards: renderBoardTable(OPTIONS),
  options: renderOptionTable(OPTIONS)
}

const section = (text: string, name: string): { start: number, end: number } => {
  const open = `<!-- generated:${name} (EDGEMQ_UPDATE_DOCS=1 node --import tsx test/limits/limits-doc.test.ts) -->\n`
  const start = text.indexOf(open)
  const end = text.indexOf(`<!-- /generated:${name} -->`)
  if (start < 0 || end < start) throw new Error(`docs/limits.md lacks the generated:${name} markers`)
  return { start: start + open.length, end }
}

if (process.env.EDGEMQ_UPDATE_DOCS === '1') {
  let text = readFileSync(DOC, 'utf8')
  for (const [name, body] of Object.entries(SECTIONS)) {
    const { start, end } = section(text, name)
    text = text.slice(0, start) + body + text.slice(end)
  }
  writeFileSync(DOC, text)
}

test('docs/limits.md has the current per-board values and option rows of every limit', () => {
  const text = readFileSync(DOC, 'utf8')
  for (const [name, body] of Object.entries(SECTIONS)) {
    const { start, end } = section(text, name)
    assert.fixture(text.slice(start, end), body)
  }
})

test('every limits/memory/throttle option is named in the prose too', () => {
  const text = readFileSync(DOC, 'utf8')
  const prose = text.replace(/<!-- generated:[\s\S]*?<!-- \/generated:\w+ -->/g, '')
  for (const o of OPTIONS.filter((x) => !x.key.startsWith('runtime.'))) assert.ok(prose.includes(o.key.split('.').at(-1) as string), `${o.key} is not explained in docs/limits.md`)
})

test.run()
