// The validated, frozen config every part reads. Sizes are bytes, durations ms.

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
export type SyncMode = 'always' | 'batch' | 'never'

/** The whole config. Parts beyond the core add their own sections. */
export interface EdgemqConfig {
  board: string
  listeners: ListenerConfig[]
  persistence: { path: string, sync: SyncMode, syncInterval: number, cacheSize: number, writeBufferSize: number, maxQueuedBytes?: number, queueDiskShare: number, encryptionKeyFile?: string }
  limits: {
    maxPacketSize: number
    maxConnections: number
    connectTimeout: number
    keepaliveMax: number
    keepaliveStrict: boolean
    tcpKeepaliveIdle: number
    sendTopicAliases: boolean
    topicAliasBudget: number
    maxInflight: number
    maxTopicLevels: number
    maxTopicLength: number
    topicAliasMaximum: number
    sessionExpiryMax: number
    drainTimeout: number
    maxClientIdLength: number
    [extra: string]: unknown
  }
  runtime: { maxOldSpace: number, maxSemiSpace: number }
  logging: { level: 'debug' | 'info' | 'warn' | 'error' }
  sys: { interval: number }
  /** Sections of later parts: auth, acl, throttle, bridges, control, crypto. */
  [section: string]: unknown
}
