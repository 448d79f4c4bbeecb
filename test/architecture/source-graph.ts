// Reads src/ as a graph of files and the relative imports between them
// (type-only imports included: a cycle of types is still two modules that
// cannot be understood or moved one without the other). Used by the
// architecture tests; no dependency, a regular expression over the import
// statements is enough for this code base's one import style.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
/** The runtime source folder. */
export const SRC = join(ROOT, 'src')

/** Every .ts file under a folder (repository-relative paths, sorted). */
export function listSourceFiles (dir: string = SRC): string[] {
  const out: string[] = []
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name)
      if (statSync(p).isDirectory()) walk(p)
      else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(relative(ROOT, p))
    }
  }
  walk(dir)
  return out.sort()
}

/** The module specifiers a file imports or re-exports (static and dynamic). */
export function importsOf (source: string): string[] {
  const specs: string[] = []
  const re = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s+['"]([^'"]+)['"]/g
  for (let m = re.exec(source); m !== null; m = re.exec(source)) specs.push(m[1] ?? m[2] ?? m[3])
  return specs
}

/** file → the src/ files it imports (relative imports only). */
export function importGraph (files: string[] = listSourceFiles()): Map<string, string[]> {
  const graph = new Map<string, string[]>()
  for (const file of files) {
    const targets = importsOf(readFileSync(join(ROOT, file), 'utf8'))
      .filter((s) => s.startsWith('.'))
      .map((s) => relative(ROOT, resolve(ROOT, dirname(file), s)))
      .filter((t) => t.startsWith('src/') && t.endsWith('.ts'))
    graph.set(file, targets)
  }
  return graph
}

/** Every import cycle, each as the list of files around it (first file repeated at the end). */
export function findCycles (graph: Map<string, string[]>): string[][] {
  const cycles: string[][] = []
  const seen = new Set<string>()
  const state = new Map<string, 'open' | 'done'>()
  const stack: string[] = []
  const visit = (file: string): void => {
    state.set(file, 'open')
    stack.push(file)
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'open') {
        const cycle = [...stack.slice(stack.indexOf(next)), next]
        const key = [...cycle.slice(0, -1)].sort().join('|')
        if (!seen.has(key)) { seen.add(key); cycles.push(cycle) }
      } else if (state.get(next) === undefined && graph.has(next)) {
        visit(next)
      }
    }
    stack.pop()
    state.set(file, 'done')
  }
  for (const file of graph.keys()) if (state.get(file) === undefined) visit(file)
  return cycles
}

/** The source with comments and string/template literals blanked out (lengths kept). */
export function codeOnly (source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*|'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"|`(?:\\.|[^`\\])*`/g, (m) => m.replace(/[^\n]/g, ' '))
}

/** The source with comments blanked out (strings kept). */
export function withoutComments (source: string): string {
  return source.replace(/'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"|`(?:\\.|[^`\\])*`|\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, (m) => m.startsWith('/') ? m.replace(/[^\n]/g, ' ') : m)
}
