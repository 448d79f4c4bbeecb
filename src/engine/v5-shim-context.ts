// The aedes 2.0.0-beta.1 internals the MQTT 5 shims (install-v5-shims.ts and
// the overrides it installs) use, the per-connection state they keep on the
// aedes client, and the context they share. Types only, plus the two symbols:
// nothing here changes aedes.
// Canary: test/engine/v5-shim-internals.test.ts (each member below exists on
// the pinned aedes with this shape).
import type { EventEmitter } from 'node:events'
import type { Duplex, Readable } from 'node:stream'
import type { Logger } from '../observability/logger.ts'
import type { OutboundWindow } from '../protocol/outbound-window.ts'

/** A completion callback as aedes passes them. */
export type Callback = (err?: Error | null) => void
/** A packet as mqtt-packet parses and aedes passes it (loosely typed on purpose). */
export type AnyPacket = Record<string | symbol, any> & { cmd: string }

/** The parts of an aedes Client the shims use (aedes 2.0.0-beta.1 internals). */
export interface AedesClient extends EventEmitter {
  id: string | null
  version: number | null
  clean: boolean
  connected: boolean
  connackSent: boolean
  closed: boolean
  errored: boolean
  _cleanStart?: boolean
  conn: Duplex
  receiveMaximum?: number
  maximumPacketSize?: number
  subscriptions: Record<string, unknown>
  _parser: EventEmitter
  _parsingBatch: number
  _nextBatch: (err?: Error | null) => void
  _wireVersion: number | null
  deliver0: (packet: AnyPacket, cb: Callback) => void
  deliverQoS: (packet: AnyPacket, cb: Callback) => void
  subscribe: (packet: { subscriptions: AnyPacket[], properties?: unknown }, done: Callback) => void
  unsubscribe: (packet: { unsubscriptions: string[] }, done: Callback) => void
  disconnect: (opts: { reasonCode: number, properties?: Record<string, unknown> }, done?: () => void) => void
  pause: () => void
  close: (done?: () => void) => void
  rejectPacketTooLarge: (size: number, done?: () => void) => void
  _rejectingPacketTooLarge: boolean
  broker: EventEmitter
}

/** The parts of the Aedes instance the shims use. */
export interface AedesInternals {
  handle: (conn: Duplex, req: unknown) => AedesClient
  subscribe: (topic: string, fn: (packet: AnyPacket, cb: () => void) => void, done: () => void) => void
  unsubscribe: (topic: string, fn: (packet: AnyPacket, cb: () => void) => void, done: () => void) => void
  authorizeSubscribe: (client: AedesClient, sub: AnyPacket, done: (err: Error | null, sub: AnyPacket | null) => void) => void
  authorizeForward: (client: AedesClient, packet: AnyPacket) => AnyPacket | null | undefined
  authenticate: (client: AedesClient, username: unknown, password: unknown, done: (...args: unknown[]) => void) => void
  persistence: {
    removeSubscriptions: (client: AedesClient, topics: string[]) => Promise<unknown>
    outgoingEnqueue: (sub: { clientId: string }, packet: AnyPacket) => Promise<unknown>
    outgoingStream: (client: { id: string }) => Readable
    createRetainedStreamCombi: (patterns: string[]) => Readable
  }
}

/** What the shims keep per connection. */
export interface ClientShim {
  window?: OutboundWindow<AnyPacket>
  /** aedes's own deliverQoS of the client (held messages are sent through it, counted in the window). */
  deliverQoS?: (packet: AnyPacket, cb: Callback) => void
  /** Stored-queue replays waiting for a free slot. */
  slotWaiters?: Array<() => void>
  /** Set by the authorizeForward wrapper while aedes decides whether a delivery goes out. */
  forwarded: boolean
}

/** Where the per-connection state lives on the aedes client. */
export const SHIM = Symbol('edgemq.v5shim')
/** Marks a packet built for one shared-subscription member (its QoS is already capped). */
export const SHARED_DELIVERY = Symbol('edgemq.shared')
/** An aedes client with the shims' state. */
export type ShimmedClient = AedesClient & { [SHIM]?: ClientShim }

/** Counters the shims report ($SYS/broker/protocol/). */
export interface V5ShimCounters {
  malformedClosed: number
  oversizeDropped: number
  flowDropped: number
}

/** What every shim gets: the instance, the options, the shared counters. */
export interface V5ShimContext {
  broker: AedesInternals
  log?: Logger
  /** Most messages held per connection while its Receive Maximum is used up. */
  flowQueueLimit: number
  counters: V5ShimCounters
  onMalformed?: (info: { clientId: string | null, reason: string }) => void
  /** Whether a client may receive a message on a topic (the ACL, no side effects): shared-subscription picks skip members it refuses. */
  mayReceive: (client: unknown, topic: string) => boolean
  /** Whether the store holds a session for a client id (see keep-session-on-clean-start.ts). */
  hasSession?: (clientId: string) => boolean
}

/** What the shims' shared per-connection functions find on the aedes instance (they get the client, and from it its broker). */
export interface InstalledShims {
  ctx: V5ShimContext
  shares: SharedSubscriptionServer
}

/** Where installV5Shims keeps InstalledShims on the aedes instance. */
export const SHIMS = Symbol('edgemq.v5shims')

/** The shims installed on a client's broker. */
export function shimsOf (client: ShimmedClient): InstalledShims {
  return (client.broker as unknown as { [SHIMS]: InstalledShims })[SHIMS]
}

/** Does nothing (a callback nobody waits for). */
export function noop (): void {}

/** The shared-subscription side of a broker. */
export interface SharedSubscriptionServer {
  /** Handles a SUBSCRIBE with at least one shared filter (writes its SUBACK). */
  subscribe: (client: ShimmedClient, packet: AnyPacket) => Promise<void>
  /** Handles an UNSUBSCRIBE with at least one shared filter (writes its UNSUBACK). */
  unsubscribe: (client: ShimmedClient, packet: AnyPacket) => Promise<void>
  /** The client's connection closed: it leaves every group. */
  leaveAll: (client: ShimmedClient) => void
  /** Groups with at least one member. */
  size: () => number
}
