import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFile } from 'node:fs/promises'
import { applySections, generatedSections } from './generated-docs.ts'

test('README config reference and board table match the option table (run `npm run docs` to update)', async () => {
  const text = await readFile(new URL('../../README.md', import.meta.url), 'utf8')
  assert.fixture(applySections(text, generatedSections()), text)
})

test('README names the two commands a new user needs', async () => {
  const text = await readFile(new URL('../../README.md', import.meta.url), 'utf8')
  assert.match(text, 'npm install && npm start')
  assert.match(text, 'npm test')
})

test('.ci/run calls the README test command', async () => {
  const ci = await readFile(new URL('../../.ci/run', import.meta.url), 'utf8')
  assert.match(ci, /^npm test$/m)
})

test.run()
