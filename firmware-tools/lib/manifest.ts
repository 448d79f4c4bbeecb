// The package manifest: the sha256 of every file, in `sha256sum` format so
// `sha256sum -c` on the gateway checks an install without edgemq itself.
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { join, relative } from 'node:path'

/** Every regular file under `dir`, as paths relative to it, sorted. */
export async function listFiles (dir: string): Promise<string[]> {
  const out: string[] = []
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name)
      if (e.isDirectory()) await walk(p)
      else if (e.isFile()) out.push(relative(dir, p))
    }
  }
  await walk(dir)
  return out.sort()
}

/** The sha256 of one file, hex. */
export async function sha256File (path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

/** Manifest text for the files under `root`: "<sha256>  /<path>" lines, absolute install paths; `skip` paths are left out. */
export async function buildManifest (root: string, skip: readonly string[] = []): Promise<string> {
  const lines: string[] = []
  for (const f of await listFiles(root)) {
    if (skip.includes('/' + f) || f.startsWith('DEBIAN/')) continue
    lines.push(`${await sha256File(join(root, f))}  /${f}`)
  }
  return lines.join('\n') + '\n'
}

/** Parses manifest text back into path → sha256. */
export function parseManifest (text: string): Map<string, string> {
  const map = new Map<string, string>()
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]{64}) {2}(.+)$/.exec(line)
    if (m !== null) map.set(m[2], m[1])
  }
  return map
}
