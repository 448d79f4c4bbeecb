// The brokers the harness knows how to start: edgemq (the bundle), Mosquitto
// (Debian's /usr/sbin/mosquitto), and plain aedes (the library edgemq wraps).
// edgemq-scraped is edgemq with an http listener whose /metrics the harness
// scrapes every second during the run: the cost of metrics on the packet path.
// floor is the least a Node + LevelDB broker does on the drain's path
// (test/bench/floor-broker.mjs): the drain and resume scenarios only.
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { chmod, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { BrokerLaunch } from './broker-process.ts'
import { renderEdgemqConfig, renderMosquittoConfig, type BrokerSettings } from './broker-configs.ts'

/** The brokers a run can include. */
export const BROKER_KINDS = ['edgemq', 'mosquitto', 'aedes', 'edgemq-scraped', 'floor'] as const
/** One of BROKER_KINDS. */
export type BrokerKind = typeof BROKER_KINDS[number]

/** Where Debian installs Mosquitto. */
export const MOSQUITTO_PATH = '/usr/sbin/mosquitto'

/**
 * The default edgemq command; {config} becomes the YAML file the harness writes.
 * `node {heapFlags} dist/edgemq.mjs start -c {config}` runs it as the packaged
 * services do: one process started with the board's heap flags, no re-exec.
 */
export const DEFAULT_EDGEMQ_CMD = 'node dist/edgemq.mjs start -c {config}'

/** What launching needs besides the scenario's settings. */
export interface LaunchContext {
  root: string
  board: string
  edgemqCmd: string
  /** The board profile's Node heap flags, for the {heapFlags} placeholder of edgemqCmd. */
  heapFlags: readonly string[]
  nofile: number
  cores: string
  /** Niceness for the broker (see --nice). */
  nice: number
}

/** Whether this kind keeps queued messages across a restart (plain aedes is in memory only). */
export function survivesRestart (kind: BrokerKind): boolean {
  return kind !== 'aedes'
}

/** The scenarios floor-broker.mjs can run (persistent sessions, QoS 1 to exact topics, replay); undefined: every scenario. */
export function scenariosOf (kind: BrokerKind): readonly string[] | undefined {
  return kind === 'floor' ? ['drain', 'resume'] : undefined
}

/** Whether a kind is edgemq (the bundle, with or without the scraped http listener). */
export function isEdgemq (kind: BrokerKind): boolean {
  return kind === 'edgemq' || kind === 'edgemq-scraped'
}

/** The /metrics scrape of an edgemq-scraped launch. */
export interface ScrapeTarget { url: string, token: string }

/** Writes the broker's config into settings.dir and returns how to launch it (and, for edgemq-scraped, what to scrape). */
export async function prepareLaunch (kind: BrokerKind, settings: BrokerSettings & { httpPort?: number }, context: LaunchContext): Promise<BrokerLaunch & { scrape?: ScrapeTarget }> {
  const base = { label: kind, cwd: context.root, port: settings.port, cores: context.cores, nice: context.nice, nofile: context.nofile }
  if (kind === 'mosquitto') {
    const file = join(settings.dir, 'mosquitto.conf')
    await writeFile(file, renderMosquittoConfig(settings))
    return { ...base, command: MOSQUITTO_PATH, args: ['-c', file] }
  }
  if (kind === 'aedes') {
    return { ...base, command: process.execPath, args: [...(process.env.BENCH_AEDES_NODE_ARGS ?? '').split(' ').filter(Boolean), join(context.root, 'test/bench/plain-aedes-server.mjs'), String(settings.port)] }
  }
  if (kind === 'floor') {
    // the board's heap flags and LevelDB sizes, as edgemq gets them
    return { ...base, command: process.execPath, args: [...context.heapFlags, join(context.root, 'test/bench/floor-broker.mjs'), String(settings.port), join(settings.dir, 'data'), join(context.root, 'boards', `${context.board}.json`)] }
  }
  const file = join(settings.dir, 'edgemq.yaml')
  let yaml = renderEdgemqConfig(settings, context.board)
  let scrape: ScrapeTarget | undefined
  if (kind === 'edgemq-scraped') {
    if (settings.httpPort === undefined) throw new Error('edgemq-scraped needs an httpPort')
    const token = randomBytes(24).toString('hex')
    const tokenFile = join(settings.dir, 'http-token')
    await writeFile(tokenFile, token, { mode: 0o600 })
    await chmod(tokenFile, 0o600)
    yaml = yaml.replace('listeners:\n', `listeners:\n  - { name: metrics, type: http, host: 127.0.0.1, port: ${settings.httpPort}, tokenFile: ${JSON.stringify(tokenFile)}, requestRate: 100 }\n`)
    scrape = { url: `http://127.0.0.1:${settings.httpPort}/metrics`, token }
  }
  await writeFile(file, yaml)
  const words = context.edgemqCmd.trim().split(/\s+/)
    .flatMap((w) => w === '{heapFlags}' ? context.heapFlags : [w])
    .map((w) => w.replaceAll('{config}', file).replaceAll('{port}', String(settings.port)))
  if (!context.edgemqCmd.includes('{config}')) words.push('-c', file)
  const [command, ...args] = words
  return { ...base, command: command === 'node' ? process.execPath : command, args, startTimeoutMs: 60_000, scrape }
}

/** Why a broker kind cannot run here, or undefined when it can. */
export function checkAvailable (kind: BrokerKind, context: LaunchContext): string | undefined {
  if (kind === 'mosquitto' && !existsSync(MOSQUITTO_PATH)) {
    return `${MOSQUITTO_PATH} not found: install it with "apt-get install mosquitto" (the benchmark compares against Debian's Mosquitto)`
  }
  if (isEdgemq(kind) && context.edgemqCmd === DEFAULT_EDGEMQ_CMD && !existsSync(join(context.root, 'dist/edgemq.mjs'))) {
    return 'dist/edgemq.mjs not found: run "node build.mjs --quiet" first, or leave edgemq out with --brokers mosquitto,aedes'
  }
  return undefined
}
