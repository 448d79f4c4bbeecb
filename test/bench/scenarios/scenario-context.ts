// What every scenario gets from the harness, and what it gives back.
import type { BrokerLaunch } from '../broker-process.ts'
import { BrokerProcess, sleep } from '../broker-process.ts'
import type { BrokerKind } from '../broker-kinds.ts'
import type { Counts } from '../bench-options.ts'
import type { LoadClient } from '../load-client.ts'

/** A started broker and how to start it again (same directory, port and config). */
export interface StartedBroker {
  broker: BrokerProcess
  launch: BrokerLaunch
}

/** The harness's services for one scenario run against one broker. */
export interface ScenarioContext {
  /** The repository (dist/, boards/). */
  root: string
  kind: BrokerKind
  counts: Counts
  worker: LoadClient
  /** The board profile's outgoing QoS 1 window (limits.maxInflight), given to Mosquitto too. */
  maxInflight: number
  /**
   * A fresh broker of this kind in a new temp directory on a free loopback port.
   * `passwordFile`: clients must log in; `board`: another edgemq board profile
   * than the run's; `wrap`: changes the launch (e.g. joins a cgroup first).
   */
  startBroker: (options: { persistence: boolean, passwordFile?: string, board?: string, wrap?: (launch: BrokerLaunch) => BrokerLaunch }) => Promise<StartedBroker>
  /** Starts `launch` again (after a stop), tracked like the first start. */
  restartBroker: (launch: BrokerLaunch) => Promise<BrokerProcess>
  /** A progress line on stderr. */
  log: (message: string) => void
}

/** The figures (by metric key) and the raw details one scenario produced for one broker. */
export interface ScenarioOutcome {
  metrics: Record<string, number>
  details: Record<string, unknown>
}

/** One scenario. */
export type ScenarioRun = (context: ScenarioContext) => Promise<ScenarioOutcome>

/** Broker CPU seconds over a run as µs per message, one decimal. */
export function microsPerMessage (cpuSeconds: number, messages: number): number {
  return Math.round(cpuSeconds * 1e6 / messages * 10) / 10
}

/** KiB to MiB with two decimals. */
export function toMiB (kib: number): number {
  return Math.round(kib / 1024 * 100) / 100
}

/**
 * The broker's RSS once it stops moving: samples every 250 ms until two
 * consecutive readings differ by under 1 % (allocators and GCs settle after a
 * burst of connects), or 5 s have passed.
 */
export async function settledMemory (broker: BrokerProcess): Promise<{ rssKiB: number, treeRssKiB: number, processes: number }> {
  let previous = broker.memory().rssKiB
  let calm = 0
  for (let i = 0; i < 20 && calm < 2; i++) {
    await sleep(250)
    const now = broker.memory().rssKiB
    calm = Math.abs(now - previous) <= previous * 0.01 ? calm + 1 : 0
    previous = now
  }
  const tree = broker.treeMemory()
  return { rssKiB: previous, treeRssKiB: tree.rssKiB, processes: tree.processes }
}
