// The README's command table is one table (issue 15: a blank line split it,
// so its second half did not render) and names every command the CLI has.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { REPO_ROOT } from '../helpers/broker-process.ts'
import { allCommands } from '../../src/cli/run-cli.ts'

test('the README command table is one unbroken table naming every command', async () => {
  const lines = (await readFile(join(REPO_ROOT, 'README.md'), 'utf8')).split('\n')
  const at = lines.indexOf('| command | what it does |')
  assert.ok(at >= 0, 'the command table header is there')
  const table: string[] = []
  for (let i = at; i < lines.length && lines[i].startsWith('|'); i++) table.push(lines[i])
  const text = table.join('\n')
  for (const c of allCommands()) {
    assert.ok(new RegExp(String.raw`\`edgemq (?:[a-z\\|]*[|])?${c.name}[ |\`\\]`).test(text), `edgemq ${c.name} is in the rendered table:\n${text}`)
  }
})

test.run()
