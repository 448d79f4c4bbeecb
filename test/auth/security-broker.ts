// Test helper: the real broker in this process with the security part, a
// config written as YAML, a temp data folder and captured log lines.
import { mkdtemp, rm, writeFile, chmod, mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseConfigText } from '../../src/config/config-file.ts'
import { resolveConfig } from '../../src/config/load-config.ts'
import { startBroker, type EdgemqBroker } from '../../src/broker.ts'
import { createLogger } from '../../src/observability/logger.ts'
import { securityPart } from '../../src/auth/security-part.ts'
import { hashPassword } from '../../src/auth/password-hash.ts'
import type { EdgemqConfig } from '../../src/config/types.ts'

/** A running broker with its temp folder and logs. */
export interface SecureBroker {
  broker: EdgemqBroker
  dir: string
  logs: string[]
  config: EdgemqConfig
  port: (listener?: string) => number
  controlSocket: string
  stop: () => Promise<void>
}

/** Writes a password file (mode 0600) with scrypt hashes of cheap cost (tests only). */
export async function writePasswords (dir: string, users: Record<string, string>): Promise<string> {
  const path = join(dir, 'passwd')
  const lines: string[] = []
  for (const [u, p] of Object.entries(users)) lines.push(`${u}:${await hashPassword(Buffer.from(p), { N: 1024 })}`)
  await writeFile(path, lines.join('\n') + '\n', { mode: 0o600 })
  await chmod(path, 0o600)
  return path
}

/** Makes a temp folder. */
export async function tempDir (): Promise<string> {
  return await mkdtemp(join(tmpdir(), 'edgemq-sec-'))
}

/** Resolves a YAML config the way the CLI does. */
export async function configFrom (yaml: string, dir: string): Promise<EdgemqConfig> {
  // The store's parent folder must exist: a missing one is refused (issue 15), never created.
  await mkdir(dir, { recursive: true })
  const file = parseConfigText(`persistence: { path: ${JSON.stringify(join(dir, 'data'))} }\ncontrol: { socket: ${JSON.stringify(join(dir, 'control.sock'))} }\nboard: generic\n${yaml}`, join(dir, 'site.yaml'))
  return (await resolveConfig({ file })).config
}

/** Starts the broker from YAML (persistence and control socket go to `dir`). */
export async function startSecureBroker (yaml: string, dir: string): Promise<SecureBroker> {
  const config = await configFrom(yaml, dir)
  const logs: string[] = []
  const logger = createLogger({ level: 'debug', sink: (line) => { logs.push(line) } })
  const broker = await startBroker(config, logger, [securityPart])
  return {
    broker,
    dir,
    logs,
    config,
    controlSocket: join(dir, 'control.sock'),
    port: (name) => {
      const a = broker.addresses().find((x) => name === undefined || x.name === name)
      if (a === undefined) throw new Error(`no listener ${name ?? ''}`)
      return a.port
    },
    stop: async () => { await broker.close() }
  }
}

/** Removes a temp folder. */
export async function removeDir (dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true })
}
