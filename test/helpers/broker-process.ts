// The shared way tests start an edgemq broker: as a real process (the CLI, one
// process with EDGEMQ_NO_REEXEC=1) or in this process (startBroker, faster).
// Both put the data in a fresh temp dir and remove every process, port and
// file they made on stop(); a process left running when the test file exits
// is SIGKILLed so a failed test cannot leak brokers into the next one.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { delimiter, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse, stringify } from 'yaml'
import { startBroker, type AttachPart, type EdgemqBroker } from '../../src/broker.ts'
import { parseConfigText } from '../../src/config/config-file.ts'
import { resolveConfig } from '../../src/config/load-config.ts'
import { silentLogger, type Logger } from '../../src/observability/logger.ts'
import { PARTS } from '../../src/parts.ts'

/** The repository root (for spawning src/cli/main.ts). */
export const REPO_ROOT = resolve(fileURLToPath(import.meta.url), '../../..')

/** The default config: one tcp listener on a free loopback port. */
export const DEFAULT_TEST_CONFIG = 'listeners:\n  - { name: tcp, type: tcp, host: 127.0.0.1, port: 0 }\n'

/** A broker running as its own process. */
export interface BrokerProcessHandle {
  /** Port of the first listener. */
  port: number
  /** Ports by listener name. */
  ports: Record<string, number>
  pid: number
  /** persistence.path (inside the temp dir unless the config gave one). */
  dataDir: string
  configPath: string
  /** Everything the broker wrote to stderr so far. */
  stderr: () => string
  /** Sends a signal (SIGKILL by default) and resolves to the exit code (null when killed by a signal). */
  kill: (signal?: NodeJS.Signals) => Promise<number | null>
  /** SIGTERM, SIGKILL after 5 s, then removes the temp dir. Safe to call twice. */
  stop: () => Promise<void>
}

/** A broker running inside the test process. */
export interface InProcessBroker {
  broker: EdgemqBroker
  port: number
  ports: Record<string, number>
  dataDir: string
  stop: () => Promise<void>
}

const LISTENING = /info broker: listening listener=(\S+) type=\S+ host=\S+ port=(\d+)/g
const running = new Set<ChildProcess>()
process.once('exit', () => { for (const child of running) child.kill('SIGKILL') })

/** Adds `persistence.path: <dir>/data` when the YAML has none; returns the YAML text and the data dir. */
export function withTempData (yamlText: string, dir: string): { text: string, dataDir: string, listeners: number } {
  const doc = (parse(yamlText) ?? {}) as Record<string, unknown>
  const persistence = (doc.persistence ?? {}) as Record<string, unknown>
  if (typeof persistence.path !== 'string') persistence.path = join(dir, 'data')
  doc.persistence = persistence
  const listeners = Array.isArray(doc.listeners) ? doc.listeners.length : 1
  return { text: stringify(doc), dataDir: resolve(dir, persistence.path as string), listeners }
}

/** Starts `edgemq start -c <file>` as a child process and waits for every listener's "listening" line. */
export async function startBrokerProcess (options: { config?: string, args?: string[], env?: Record<string, string>, startTimeoutMs?: number, /** Run a built bundle (what users run: true = dist/edgemq.mjs, or its path) instead of src/ under tsx. */ bundle?: boolean | string } = {}): Promise<BrokerProcessHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'edgemq-test-'))
  const { text, dataDir, listeners } = withTempData(options.config ?? DEFAULT_TEST_CONFIG, dir)
  const configPath = join(dir, 'edgemq.yaml')
  await writeFile(configPath, text)
  const entry = typeof options.bundle === 'string' ? [options.bundle] : options.bundle === true ? [join(REPO_ROOT, 'dist/edgemq.mjs')] : ['--import', 'tsx', join(REPO_ROOT, 'src/cli/main.ts')]
  const child = spawn(process.execPath, [...entry, 'start', '-c', configPath, ...(options.args ?? [])], {
    cwd: REPO_ROOT,
    env: { ...process.env, EDGEMQ_NO_REEXEC: '1', ...options.env },
    stdio: ['ignore', 'ignore', 'pipe']
  })
  running.add(child)
  let log = ''
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => { running.delete(child); resolve(code) }))
  const ports: Record<string, number> = {}
  const order: string[] = []
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`edgemq did not report ${listeners} listening line(s) within ${options.startTimeoutMs ?? 20_000} ms; stderr:\n${log}`)), options.startTimeoutMs ?? 20_000)
      child.stderr!.setEncoding('utf8')
      child.stderr!.on('data', (chunk: string) => {
        log += chunk
        for (const m of log.matchAll(LISTENING)) if (!(m[1] in ports)) { ports[m[1]] = Number(m[2]); order.push(m[1]) }
        if (order.length >= listeners) { clearTimeout(timer); resolve() }
      })
      void exited.then((code) => { clearTimeout(timer); reject(new Error(`edgemq exited with ${code} before listening; stderr:\n${log}`)) })
    })
  } catch (err) {
    child.kill('SIGKILL')
    await exited
    await rm(dir, { recursive: true, force: true })
    throw err
  }
  let stopped: Promise<void> | undefined
  const kill = async (signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal)
    return await exited
  }
  return {
    port: ports[order[0]],
    ports,
    pid: child.pid!,
    dataDir,
    configPath,
    stderr: () => log,
    kill,
    stop: async () => {
      stopped ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM')
          const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
          await exited
          clearTimeout(timer)
        }
        await rm(dir, { recursive: true, force: true })
      })()
      await stopped
    }
  }
}

/** Starts the broker in this process from YAML text (fast; same composition root and parts as the CLI). */
export async function startBrokerInProcess (yamlText: string = DEFAULT_TEST_CONFIG, options: { logger?: Logger, parts?: readonly AttachPart[] } = {}): Promise<InProcessBroker> {
  const dir = await mkdtemp(join(tmpdir(), 'edgemq-test-'))
  const { text, dataDir } = withTempData(yamlText, dir)
  let broker: EdgemqBroker
  try {
    const { config } = await resolveConfig({ file: parseConfigText(text, join(dir, 'test.yaml')), flags: { board: 'generic' } })
    broker = await startBroker(config, options.logger ?? silentLogger, options.parts ?? PARTS)
  } catch (err) {
    await rm(dir, { recursive: true, force: true })
    throw err
  }
  const ports: Record<string, number> = {}
  for (const a of broker.addresses()) ports[a.name] = a.port
  let stopped: Promise<void> | undefined
  return {
    broker,
    port: broker.addresses()[0].port,
    ports,
    dataDir,
    stop: async () => {
      stopped ??= (async () => {
        await broker.close()
        await rm(dir, { recursive: true, force: true })
      })()
      await stopped
    }
  }
}

/**
 * The absolute path of a tool, or an Error thrown (so the test FAILS) saying how
 * to install it. `name` is a command on PATH or an absolute path; `installHint`
 * is the Debian package ("mosquitto-clients") or a full instruction.
 */
export function requireTool (name: string, installHint: string): string {
  const found = name.includes('/') ? (existsSync(name) ? name : undefined) : findOnPath(name)
  if (found === undefined) throw new Error(`${name} is not installed (needed by this test): install it with: ${installHint.startsWith('apt-get') ? installHint : `apt-get install ${installHint}`}`)
  return found
}

/** /usr/bin/python3 with paho-mqtt importable, or an Error saying how to install it. */
export function requirePaho (): string {
  const python = requireTool('/usr/bin/python3', 'python3')
  const probe = spawnSync(python, ['-c', 'import paho.mqtt.client'], { encoding: 'utf8' })
  if (probe.status !== 0) throw new Error(`paho-mqtt is not importable by ${python} (needed by this test): install it with: apt-get install python3-paho-mqtt\n${probe.stderr}`)
  return python
}

function findOnPath (name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter).concat(['/usr/sbin', '/usr/bin', '/sbin'])) {
    if (dir !== '' && existsSync(join(dir, name))) return join(dir, name)
  }
  return undefined
}
