// The brokers the harness knows how to start: edgemq (the bundle), Mosquitto
// (Debian's /usr/sbin/mosquitto), and plain aedes (the library edgemq wraps).
import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { BrokerLaunch } from './broker-process.ts'
import { renderEdgemqConfig, renderMosquittoConfig, type BrokerSettings } from './broker-configs.ts'

/** The brokers a run can include. */
export const BROKER_KINDS = ['edgemq', 'mosquitto', 'aedes'] as const
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

/** Writes the broker's config into settings.dir and returns how to launch it. */
export async function prepareLaunch (kind: BrokerKind, settings: BrokerSettings, context: LaunchContext): Promise<BrokerLaunch> {
  const base = { label: kind, cwd: context.root, port: settings.port, cores: context.cores, nice: context.nice, nofile: context.nofile }
  if (kind === 'mosquitto') {
    const file = join(settings.dir, 'mosquitto.conf')
    await writeFile(file, renderMosquittoConfig(settings))
    return { ...base, command: MOSQUITTO_PATH, args: ['-c', file] }
  }
  if (kind === 'aedes') {
    return { ...base, command: process.execPath, args: [join(context.root, 'test/bench/plain-aedes-server.mjs'), String(settings.port)] }
  }
  const file = join(settings.dir, 'edgemq.yaml')
  await writeFile(file, renderEdgemqConfig(settings, context.board))
  const words = context.edgemqCmd.trim().split(/\s+/)
    .flatMap((w) => w === '{heapFlags}' ? context.heapFlags : [w])
    .map((w) => w.replaceAll('{config}', file).replaceAll('{port}', String(settings.port)))
  if (!context.edgemqCmd.includes('{config}')) words.push('-c', file)
  const [command, ...args] = words
  return { ...base, command: command === 'node' ? process.execPath : command, args, startTimeoutMs: 60_000 }
}

/** Why a broker kind cannot run here, or undefined when it can. */
export function checkAvailable (kind: BrokerKind, context: LaunchContext): string | undefined {
  if (kind === 'mosquitto' && !existsSync(MOSQUITTO_PATH)) {
    return `${MOSQUITTO_PATH} not found: install it with "apt-get install mosquitto" (the benchmark compares against Debian's Mosquitto)`
  }
  if (kind === 'edgemq' && context.edgemqCmd === DEFAULT_EDGEMQ_CMD && !existsSync(join(context.root, 'dist/edgemq.mjs'))) {
    return 'dist/edgemq.mjs not found: run "node build.mjs --quiet" first, or leave edgemq out with --brokers mosquitto,aedes'
  }
  return undefined
}
