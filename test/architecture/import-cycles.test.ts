// No import cycles in src/: a cycle makes two modules one (neither can be
// read, tested or moved alone) and, with ESM, can hand a module an
// uninitialised binding at start-up. store.ts <-> persistence/level-store.ts
// was one; the store contract now lives in src/store-contract.ts.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { findCycles, importGraph, importsOf } from './source-graph.ts'

test('src/ has no import cycle (type-only imports included)', () => {
  const cycles = findCycles(importGraph())
  assert.equal(cycles.map((c) => c.join(' -> ')), [])
})

test('the cycle finder sees a two-file and a three-file cycle', () => {
  const graph = new Map([
    ['src/a.ts', ['src/b.ts']], ['src/b.ts', ['src/a.ts']],
    ['src/c.ts', ['src/d.ts']], ['src/d.ts', ['src/e.ts']], ['src/e.ts', ['src/c.ts']],
    ['src/f.ts', ['src/a.ts']]
  ])
  assert.equal(findCycles(graph).map((c) => c.join(' -> ')), [
    'src/a.ts -> src/b.ts -> src/a.ts',
    'src/c.ts -> src/d.ts -> src/e.ts -> src/c.ts'
  ])
})

test('the import reader sees type imports, re-exports and dynamic imports', () => {
  const source = "import type { A } from './a.ts'\nimport {\n  B\n} from \"./b.ts\"\nexport { C } from './c.ts'\nconst d = await import('./d.ts')\nimport './e.ts'\n"
  assert.equal(importsOf(source), ['./a.ts', './b.ts', './c.ts', './d.ts', './e.ts'])
})

test.run()
