// The seam between aedes and edgemq's parts. The engine (src/engine/, the only
// folder that touches aedes) translates aedes events and hooks into calls on
// these lists of plain functions; auth, acl, limits, throttle and bridge
// register here and never see an aedes type.

/** Identity and metadata of a connected (or connecting) client. */
export interface ClientInfo {
  /** MQTT client id (assigned by the broker when the client sent none). */
  id: string
  /** Source address (the real client behind a PROXY-protocol proxy). */
  ip: string
  port: number
  /** Name of the listener it came in on. */
  listener: string
  /** 3 = MQTT 3.1, 4 = 3.1.1, 5 = 5.0. */
  protocolVersion: number
  /** Authenticated user name (after authentication), if any. */
  username?: string
  /** Groups of the user (from the ACL), set by the auth part. */
  groups: readonly string[]
  /** The verified TLS client certificate, when there is one. */
  certificate?: { subjectCN?: string, subjectAltNames: readonly string[], fingerprint256: string, /** issuer+serial, matched against the CRL at reload (src/auth/revocation-list.ts). */ revocationKey?: string }
  /** Per-client settings the auth layer may set (limits overrides by identity or group). */
  overrides: Record<string, unknown>
  /** The client's connection, for parts that throttle or shed load. */
  connection: ClientConnection
}

/** What a part may do with a client's connection (no aedes or socket types leak out). */
export interface ClientConnection {
  /** Stops reading from the socket: TCP backpressure slows the sender. */
  pause: () => void
  /** Reads again. */
  resume: () => void
  /** Bytes read from / written to the socket so far. */
  bytesRead: () => number
  bytesWritten: () => number
  /** Bytes queued for the socket and not yet sent (a slow consumer grows this). */
  pendingWrite: () => number
  /** Closes the connection; v5 clients get DISCONNECT with the reason code first. */
  close: (reasonCode: number, reason: string) => void
  /** Whether the socket is still open (a login waiting for a hash slot whose client hung up is dropped). */
  isOpen?: () => boolean
}

/** A socket that has just been accepted, before any byte of MQTT is read. */
export interface AcceptInfo {
  ip: string
  port: number
  listener: string
}

/** A CONNECT, after the packet is parsed and before CONNACK. */
export interface ConnectRequest {
  client: ClientInfo
  username?: string
  password?: Buffer
  cleanStart: boolean
  /** MQTT 5 Session Expiry Interval from the CONNECT, seconds (0 or absent: the session ends with the connection) [MQTT-3.1.2.11.2]. */
  sessionExpiry?: number
  keepalive: number
  will?: { topic: string, payload: Buffer, qos: number, retain: boolean }
}

/** A message a client publishes (or a will about to be published). */
export interface PublishInfo {
  topic: string
  qos: number
  retain: boolean
  payload: Buffer
  /** true for a will, published on the client's behalf. */
  isWill: boolean
}

/** What a deliver hook may read of the message being delivered. */
export interface DeliveryInfo {
  readonly qos: number
  readonly payload?: Buffer | string
  readonly retain?: boolean
}

/** Allow, or refuse with an MQTT 5 reason code (mapped to 3.1.1 codes by the broker). */
export type Decision = { ok: true } | { ok: false, reasonCode: number, reason: string }

/** The allow decision, shared (no allocation per packet). */
export const ALLOW: Decision = Object.freeze({ ok: true })

/** Refuses with a reason code and a reason for the log. */
export function deny (reasonCode: number, reason: string): Decision {
  return { ok: false, reasonCode, reason }
}

/** Lists of hooks, run in registration order; the first refusal wins. */
export interface BrokerHooks {
  /** On accept, before any MQTT byte is parsed: IP rules, bans, connection caps and rates. */
  accept: Array<(info: AcceptInfo) => Decision>
  /** On CONNECT: authentication. May set client.username/groups/overrides. */
  connect: Array<(req: ConnectRequest) => Promise<Decision> | Decision>
  /** On PUBLISH (and wills, and retained): authorization, limits. */
  publish: Array<(client: ClientInfo, msg: PublishInfo) => Promise<Decision> | Decision>
  /** On SUBSCRIBE, per filter. */
  subscribe: Array<(client: ClientInfo, filter: string, qos: number) => Promise<Decision> | Decision>
  /** On every delivery of a message to a subscriber; false drops it for that subscriber (the message is the broker's own object: read it, never keep or change it). */
  deliver: Array<(client: ClientInfo, topic: string, msg: DeliveryInfo) => boolean>
  /** May the client receive a message on this topic at all (the ACL)? No side effects: asked to choose a shared-subscription member before any delivery. */
  readable: Array<(client: ClientInfo, topic: string) => boolean>
  /** A client removed a subscription (UNSUBSCRIBE). */
  unsubscribe: Array<(client: ClientInfo, filter: string) => void>
  /** After a message was accepted and before it is acknowledged (QoS 1/2): durable hand-offs (bridge queue). Return nothing when there is nothing to wait for (keeps the publish path synchronous). */
  beforeAck: Array<(client: ClientInfo | undefined, msg: PublishInfo) => Promise<void> | undefined>
  /** A client that finished CONNECT. */
  connected: Array<(client: ClientInfo) => void>
  /** A client that went away. */
  disconnected: Array<(client: ClientInfo) => void>
  /** A connection the accept hooks let through, with its socket controls (before CONNECT). */
  opened: Array<(info: AcceptInfo, connection: ClientConnection) => void>
  /** A CONNECT that was refused (for lockout counting and audit logs). */
  connectFailed: Array<(req: ConnectRequest, decision: Decision) => void>
  /** An incoming QoS 2 message was stored, waiting for its PUBREL. */
  qos2Stored: Array<(clientId: string, messageId: number) => void>
  /** A PUBREL released an incoming QoS 2 message (or it was dropped from the store). */
  qos2Released: Array<(clientId: string, messageId: number) => void>
  /**
   * The connection's socket closed: once per opened connection, whatever
   * happened before (also when CONNECT never finished, or `connected` fires
   * after `disconnected`). Where per-connection state is freed.
   */
  closed: Array<(client: ClientInfo) => void>
  /** A packet over limits.maxPacketSize was refused on its fixed header (the connection closes); client undefined before CONNECT. */
  packetTooLarge: Array<(client: ClientInfo | undefined, size: number) => void>
  /**
   * Who a client id's persistent session belongs to, connected or not (the
   * per-user offline-queue quota counts offline sessions too): the first
   * answer wins; undefined when unknown (anonymous, never bound).
   */
  sessionOwner: Array<(clientId: string) => SessionOwner | undefined>
}

/** The user of a session and that user's groups under the ACL in force. */
export interface SessionOwner {
  username: string
  groups: readonly string[]
}

/** Empty hook lists. */
export function createBrokerHooks (): BrokerHooks {
  return { accept: [], opened: [], connect: [], publish: [], subscribe: [], deliver: [], readable: [], unsubscribe: [], beforeAck: [], connected: [], disconnected: [], connectFailed: [], closed: [], packetTooLarge: [], qos2Stored: [], qos2Released: [], sessionOwner: [] }
}
