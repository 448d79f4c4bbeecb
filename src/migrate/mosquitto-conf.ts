// Reads a mosquitto.conf (mosquitto.conf(5)) into its directives, in order,
// each with the file and line it came from: `include_dir` is followed the way
// Mosquitto does it (the *.conf files of the folder, in name order, read where
// the directive stands). Reading only; what each directive means for edgemq is
// decided in import-mosquitto.ts.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { isAbsolute, join, dirname, resolve } from 'node:path'
import { EdgemqError, ERROR_CODES } from '../errors.ts'

/** One configuration line: `key value...`. */
export interface MosquittoDirective {
  key: string
  /** The words after the key (split on blanks). */
  args: string[]
  /** Everything after the key, trimmed (for values that may hold spaces). */
  value: string
  file: string
  line: number
}

/** Reads `path` and every file its include_dir lines name. */
export function readMosquittoConf (path: string): MosquittoDirective[] {
  const out: MosquittoDirective[] = []
  readInto(resolve(path), out, new Set())
  return out
}

/** Parses conf text (no includes followed). */
export function parseMosquittoConfText (text: string, file: string): MosquittoDirective[] {
  const out: MosquittoDirective[] = []
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '').trim()
    if (line === '' || line.startsWith('#')) return
    const m = /^(\S+)\s*(.*)$/.exec(line)
    if (m === null) return
    const value = m[2].trim()
    out.push({ key: m[1], args: value === '' ? [] : value.split(/\s+/), value, file, line: i + 1 })
  })
  return out
}

function readInto (path: string, out: MosquittoDirective[], seen: Set<string>): void {
  if (seen.has(path)) throw new EdgemqError(ERROR_CODES.CONFIG_INVALID, `${path}: included twice (an include_dir loop)`)
  seen.add(path)
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new EdgemqError(ERROR_CODES.CONFIG_INVALID, `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  for (const d of parseMosquittoConfText(text, path)) {
    if (d.key !== 'include_dir') { out.push(d); continue }
    out.push(d) // reported as followed
    const dir = isAbsolute(d.value) ? d.value : join(dirname(path), d.value)
    let names: string[]
    try {
      names = readdirSync(dir).filter((n) => n.endsWith('.conf') && statSync(join(dir, n)).isFile()).sort()
    } catch (err) {
      throw new EdgemqError(ERROR_CODES.CONFIG_INVALID, `${path}:${d.line}: include_dir ${dir} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
    }
    for (const n of names) readInto(join(dir, n), out, seen)
  }
}
