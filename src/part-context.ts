// What a part of the broker (security, limits, bridge, and any added later)
// is given when it attaches, and what it hands back. Parts import these from
// here, never from the composition root (src/broker.ts), so a part depends on
// a contract and not on the file that wires everything together.
import type { BrokerHooks } from './broker-hooks.ts'
import type { EdgemqConfig } from './config/types.ts'
import type { ControlServer } from './control/control-server.ts'
import type { Logger } from './observability/logger.ts'
import type { Observatory } from './observability/observatory.ts'
import type { PreparedReload } from './reload-transaction.ts'
import type { Store } from './store-contract.ts'

/** Parts attach here after the core is up (security, limits, bridge); each returns a handle with reload/close. */
export interface PartHandle {
  /**
   * The first half of a reload (src/reload-transaction.ts): read the files and
   * build the new state for `config`, apply nothing, throw if it is refused.
   * The returned commit applies it once every part and listener prepared.
   */
  prepareReload?: (config: EdgemqConfig) => Promise<PreparedReload | undefined>
  close?: () => Promise<void>
  /** Values published under $SYS/broker/ (keys relative to it), read every sys.interval. */
  sysValues?: () => Record<string, number | string>
}

/** What a part gets to attach itself. */
export interface PartContext {
  config: EdgemqConfig
  hooks: BrokerHooks
  store: Store
  logger: Logger
  control: ControlServer
  local: LocalBrokerApi
  /** Metrics, status sections and readiness (src/observability/observatory.ts); absent in some unit tests. */
  observe?: Observatory
}

/** A message published into, or delivered by, the broker itself. */
export interface LocalMessage {
  topic: string
  payload: Buffer
  qos: 0 | 1 | 2
  retain: boolean
  properties?: Record<string, unknown>
}

/** Publishing and subscribing inside the broker, for the bridge and $SYS. */
export interface LocalBrokerApi {
  publish: (msg: LocalMessage) => Promise<void>
  subscribe: (filter: string, onMessage: (msg: { topic: string, payload: Buffer, qos: number, retain: boolean, properties?: Record<string, unknown> }) => void) => Promise<() => Promise<void>>
}

/** A part's attach function. */
export type AttachPart = (ctx: PartContext) => Promise<PartHandle>
