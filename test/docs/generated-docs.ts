// The generated parts of README.md (config reference, board table), from the
// option table, so the docs cannot drift from the code.
// `npm run docs` rewrites them; test/docs/readme.test.ts fails when they are stale.
import { readFile, writeFile } from 'node:fs/promises'
import { OPTION_TABLE } from '../../src/config/option-table.ts'
import { renderBoardTable, renderOptionTable } from '../../src/config/render-options.ts'
import { OPTION_TYPES_FILE, renderOptionTypes } from '../../src/config/render-option-types.ts'

/** Sections by marker name. */
export function generatedSections (): Record<string, string> {
  return { options: renderOptionTable(OPTION_TABLE), boards: renderBoardTable(OPTION_TABLE) }
}

/** README text with every `<!-- generated:NAME -->` section replaced. */
export function applySections (text: string, sections: Record<string, string>): string {
  let out = text
  for (const [name, body] of Object.entries(sections)) {
    const re = new RegExp(`(<!-- generated:${name} -->\\n)[\\s\\S]*?(<!-- /generated:${name} -->)`)
    if (!re.test(out)) throw new Error(`README.md has no <!-- generated:${name} --> ... <!-- /generated:${name} --> section`)
    out = out.replace(re, `$1${body}$2`)
  }
  return out
}

if (process.argv[1]?.endsWith('generated-docs.ts')) {
  const path = new URL('../../README.md', import.meta.url)
  const text = await readFile(path, 'utf8')
  await writeFile(path, applySections(text, generatedSections()))
  console.log('README.md: generated sections updated')
  // the config value types come from the same table (test/config/option-defaults.test.ts)
  await writeFile(new URL(`../../${OPTION_TYPES_FILE}`, import.meta.url), renderOptionTypes(OPTION_TABLE))
  console.log(`${OPTION_TYPES_FILE}: regenerated`)
}
