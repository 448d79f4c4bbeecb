// The validated, frozen config every part reads. Sizes are bytes, durations ms.
import type { OptionValues } from './option-types.ts'

/** One network listener. */
export interface ListenerConfig {
  name: string
  type: 'tcp' | 'tls' | 'ws' | 'wss' | 'http' | 'https'
  host: string
  port: number
  path: string
  cert?: string
  key?: string
  ca?: string
  minVersion: 'TLSv1.2' | 'TLSv1.3'
  requestCertificate: boolean
  requireCertificate: boolean
  allowAnonymous: boolean
  maxConnections?: number
  /** Fields added by later parts (allow/deny CIDRs, proxy protocol, throttles). */
  [extra: string]: unknown
}

/** Durability policy of the store. */
export type SyncMode = OptionValues['persistence']['sync']

/**
 * The whole config. Every value the option table defines is typed from it
 * (src/config/option-types.ts, generated), so a default exists only in its
 * table row: code reads `config.limits.maxQueuedMessages` as a number, never
 * with a fallback of its own. Parts beyond the core add their own sections.
 */
export interface EdgemqConfig {
  board: string
  listeners: ListenerConfig[]
  persistence: OptionValues['persistence']
  limits: OptionValues['limits'] & { [extra: string]: unknown }
  runtime: OptionValues['runtime']
  logging: OptionValues['logging']
  sys: OptionValues['sys']
  control?: OptionValues['control']
  auth: OptionValues['auth']
  memory: OptionValues['memory']
  throttle: OptionValues['throttle']
  /** Sections typed by their parts: acl, bridges, crypto. */
  [section: string]: unknown
}
