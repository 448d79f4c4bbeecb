// Reads a config file (YAML, or JSON, which YAML parses too) keeping the line
// of every value, so an error can say "site.yaml:14".
import { readFile } from 'node:fs/promises'
import { LineCounter, parseDocument, isMap, isSeq, isScalar, type Node } from 'yaml'
import { EdgemqError, ERROR_CODES } from '../errors.ts'

/** A parsed config file: its data and where each value stands. */
export interface ConfigFile {
  path: string
  data: Record<string, unknown>
  /** "file:line" of the value at a path such as ['limits', 'maxPacketSize'] or ['listeners', 0, 'port']. */
  locate: (path: ReadonlyArray<string | number>) => string
}

/** Reads and parses a config file; syntax errors name file:line and the fix. */
export async function readConfigFile (path: string): Promise<ConfigFile> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new EdgemqError(ERROR_CODES.CONFIG_UNREADABLE, `cannot read config file ${path}: ${(err as Error).message} (check the path given to -c, and that this user may read it)`, { cause: err })
  }
  return parseConfigText(text, path)
}

/** Parses config text (YAML or JSON). */
export function parseConfigText (text: string, path: string): ConfigFile {
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true })
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((e) => {
      const at = e.pos?.[0] === undefined ? '' : `:${lines.linePos(e.pos[0]).line}`
      return `${path}${at}: ${e.message.split('\n')[0]} (fix the YAML syntax)`
    })
    throw new EdgemqError(ERROR_CODES.CONFIG_INVALID, problems[0], { problems })
  }
  const data = doc.toJS() ?? {}
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new EdgemqError(ERROR_CODES.CONFIG_INVALID, `${path}:1: the config must be a mapping of keys (board, listeners, limits, ...): got ${Array.isArray(data) ? 'a list' : typeof data}`)
  }
  const locate = (keyPath: ReadonlyArray<string | number>): string => {
    let node: Node | null | undefined = doc.contents as Node | null
    let found: Node | null | undefined = node
    for (const key of keyPath) {
      if (isMap(node)) {
        const pair = node.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === key)
        if (pair === undefined) break
        found = (pair.value as Node | null) ?? (pair.key as Node)
        node = pair.value as Node | null
      } else if (isSeq(node) && typeof key === 'number') {
        node = node.items[key] as Node | null
        if (node === undefined || node === null) break
        found = node
      } else break
    }
    const offset = found?.range?.[0]
    return offset === undefined ? path : `${path}:${lines.linePos(offset).line}`
  }
  return { path, data: data as Record<string, unknown>, locate }
}
