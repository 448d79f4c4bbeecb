// A plain aedes (the pinned 2.0.0-beta.1, in-memory persistence) on a loopback
// TCP port, for the canary tests of src/engine/: each canary builds one, applies
// one override, and checks that aedes still has (and uses) the internal that
// override relies on. An aedes upgrade that changes one fails its canary here
// instead of breaking edgemq quietly.
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { createServer, type Server } from 'node:net'
import { Aedes } from 'aedes'

/** A running plain aedes and its port. */
export interface PinnedAedes {
  aedes: Aedes
  port: number
  close: () => Promise<void>
}

/** Starts aedes with `options` on 127.0.0.1:0. */
export async function startPinnedAedes (options: Record<string, unknown> = {}): Promise<PinnedAedes> {
  const aedes = new Aedes(options as ConstructorParameters<typeof Aedes>[0])
  await aedes.listen()
  const server: Server = createServer((socket) => { aedes.handle(socket, undefined as never) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  return {
    aedes,
    port,
    close: async () => {
      await new Promise<void>((resolve) => aedes.close(() => resolve()))
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}

/** The folder of a package as Node resolves it from `from` (a file path or URL). */
export function packageDir (name: string, from: string = import.meta.url): string {
  let dir = dirname(createRequire(from).resolve(name))
  for (;;) {
    const file = join(dir, 'package.json')
    if (existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name === name) return dir
    const up = dirname(dir)
    if (up === dir) throw new Error(`no package.json of ${name} above ${from}`)
    dir = up
  }
}

/** The version of a package as installed. */
export function installedVersion (name: string): string {
  return (JSON.parse(readFileSync(join(packageDir(name), 'package.json'), 'utf8')) as { version: string }).version
}
