// Override: aedes's CONNECT handling (lib/handlers/connect.js) for a CONNECT
// with Clean Start 1 (3.1.1 CleanSession 1) that aedes would accept.
// What aedes 2.0.0-beta.1 does: preConnect, then (a setImmediate later) init:
//   checks, client fields, and a runSeries of eight steps (authenticate,
//   setKeepAlive, fetchSubs, restoreSubs, storeWill, registerClient,
//   doConnack, emptyQueue). emptyQueue builds a stream pipeline for every
//   CONNECT: pipeline(persistence.outgoingStream(client), through(...)), with
//   its AbortController, end-of-stream watchers and a Transform, and at its
//   end aborts the controller, which makes a DOMException with a stack trace.
//   In a connect storm that pipeline (and the .map stream edgemq's
//   pace-outgoing-replay.ts wraps around the queue) was 12-15 % of the
//   broker's CPU for a queue that is empty for almost every clean client.
// What edgemq does instead: for such a CONNECT it runs the same steps in the
//   same order, with the same calls on the broker, its persistence and the
//   client (so every other override, hook and event sees what it saw), but
//   the queue step first asks the persistence whether it holds anything for
//   the client (`outgoingIsEmpty`, level-persistence.ts) and, when not, only
//   resumes reading. A queue a former session left is cleared entry by entry
//   as aedes clears it for a clean start (outgoingUpdate then
//   outgoingClearMessageId), without the streams' pipeline. Every other
//   CONNECT (Clean Start 0, a refusal by aedes's own checks, a second
//   CONNECT, one over the maximum packet size) goes to aedes unchanged.
// Canary: test/engine/clean-start-connect.test.ts (the pinned aedes's
//   connect.js and write.js are the files this was written against, and a
//   plain aedes with the override answers, registers, stores wills and
//   refuses as before).
import { randomUUID } from 'node:crypto'
import type { Duplex } from 'node:stream'
import type { EventEmitter } from 'node:events'
import mqttPacket from 'mqtt-packet'
import { addPacketFilter } from './intercept-parsed-packets.ts'
import { CONNACK_V3, REASON } from '../reason-codes.ts'

type AnyPacket = Record<string, any> & { cmd: string }
type Callback = (err?: Error | null) => void

/** The aedes 2.0.0-beta.1 client members the connect steps read and set (lib/client.js, lib/handlers/connect.js). */
interface ConnectingClient extends EventEmitter {
  id: string | null
  version: number | null
  clean: boolean
  connecting: boolean
  connected: boolean
  connackSent: boolean
  closed: boolean
  errored: boolean
  conn: Duplex
  broker: ConnectBroker
  will: AnyPacket | null
  _will: AnyPacket | null
  _parser: EventEmitter
  _parsingBatch: number
  _nextBatch: Callback
  _connectTimer: NodeJS.Timeout | null
  _keepaliveTimer: NodeJS.Timeout | null
  _keepaliveInterval: number
  _nextId: number
  _wireVersion: number | null
  _authorized: boolean
  _assignedClientId?: string
  _serverKeepAlive?: number
  _connectSessionExpiryInterval?: number
  _sessionExpiryClamped?: boolean
  _cleanStart?: boolean
  _requestProblemInformation?: boolean
  _requestResponseInformation?: boolean
  sessionExpiryInterval: number
  maximumPacketSize?: number
  receiveMaximum?: number
  pause: () => void
  resume: () => void
  close: (done?: () => void) => void
  waitForDrain: (done: Callback) => void
}

/** The aedes instance members the connect steps use. */
interface ConnectBroker extends EventEmitter {
  closed: boolean
  keepaliveLimit: number
  maxClientsIdLength: number
  maximumPacketSize: number
  topicAliasMaximum: number
  receiveMaximum: number
  responseInformation: unknown
  preConnect: (client: ConnectingClient, packet: AnyPacket, done: (err: (Error & Record<string, any>) | null, ok?: boolean) => void) => void
  authenticate: (client: ConnectingClient, username: unknown, password: unknown, done: (err: (Error & Record<string, any>) | null, ok?: boolean) => void) => void
  clampSessionExpiry: (seconds: number) => number
  registerClient: (client: ConnectingClient) => void
  persistence: ConnectPersistence
}

/** The persistence calls of a clean-start CONNECT (aedes-persistence contract; `outgoingIsEmpty` is edgemq's). */
interface ConnectPersistence {
  cleanSubscriptions: (client: ConnectingClient) => Promise<unknown>
  delWill: (client: ConnectingClient) => Promise<unknown>
  putWill: (client: ConnectingClient, will: AnyPacket) => Promise<unknown>
  outgoingStream: (client: ConnectingClient) => AsyncIterable<AnyPacket>
  outgoingUpdate: (client: ConnectingClient, packet: AnyPacket) => Promise<unknown>
  outgoingClearMessageId: (client: ConnectingClient, packet: AnyPacket) => Promise<unknown>
  /** true when outgoingStream(client) would yield nothing now. */
  outgoingIsEmpty?: (client: ConnectingClient) => boolean
}

// MQTT 5 Session Expiry Interval of "never" (aedes's SESSION_NEVER_EXPIRES) and the default Receive Maximum [MQTT-3.1.2-23].
const RECEIVE_MAXIMUM_DEFAULT = 65_535
// v3/v4 CONNACK return codes mapped to v5 reason codes for an authenticate refusal (aedes's connackReasonCodes;
// its code 6, "keep alive limit exceeded", is aedes's own).
const V5_CODE_OF_RETURN_CODE = [REASON.SUCCESS, REASON.UNSUPPORTED_PROTOCOL_VERSION, REASON.CLIENT_IDENTIFIER_NOT_VALID, REASON.SERVER_UNAVAILABLE, REASON.BAD_USER_NAME_OR_PASSWORD, REASON.NOT_AUTHORIZED, REASON.CONNECTION_RATE_EXCEEDED]
const REFUSAL_MESSAGES = ['', 'unacceptable protocol version', 'identifier rejected', 'Server unavailable', 'bad user name or password', 'not authorized', 'keep alive limit exceeded']
const WRITE_OPTIONS: Record<number, { protocolVersion: 3 | 4 | 5 }> = { 3: { protocolVersion: 3 }, 4: { protocolVersion: 4 }, 5: { protocolVersion: 5 } }

/** Installs the override on an aedes instance (before installV5Shims: a filter added first runs last, next to aedes's own listener). */
export function installCleanStartConnect (aedes: unknown): void {
  addPacketFilter(aedes, (c, packet) => {
    const client = c as unknown as ConnectingClient
    if (packet.cmd !== 'connect' || !takesCleanStart(client, packet)) return true
    // what aedes's enqueue does for the first packet before handling it (lib/client.js)
    client._parsingBatch++
    connect(client, packet, client._nextBatch)
    return false
  })
}

/** Whether this CONNECT is one the override serves: the first packet, Clean Start 1, and one aedes's init would accept. */
export function takesCleanStart (client: ConnectingClient, packet: AnyPacket): boolean {
  const broker = client.broker
  if (client.connecting || client.connected || client.connackSent || client._parsingBatch !== 0) return false
  if (packet.clean !== true) return false
  const version = packet.protocolVersion
  if (version !== 3 && version !== 4 && version !== 5) return false
  if (broker.maximumPacketSize > 0 && wireSize(packet.length ?? 0) > broker.maximumPacketSize) return false
  const clientId = typeof packet.clientId === 'string' ? packet.clientId : ''
  if (version === 3 && clientId.length > broker.maxClientsIdLength) return false
  if (broker.keepaliveLimit > 0 && version < 5 && (!(packet.keepalive > 0) || packet.keepalive > broker.keepaliveLimit)) return false
  const properties = packet.properties
  if (version === 5 && properties !== undefined) {
    if (properties.receiveMaximum === 0 || properties.authenticationData !== undefined || properties.authenticationMethod !== undefined) return false
  }
  // Response Information needs aedes's resolver; edgemq does not configure one.
  if (broker.responseInformation !== null && broker.responseInformation !== undefined) return false
  return true
}

/** Bytes of a packet with this Remaining Length on the wire (fixed header included). */
function wireSize (remaining: number): number {
  return 1 + (remaining < 128 ? 1 : remaining < 16_384 ? 2 : remaining < 2_097_152 ? 3 : 4) + remaining
}

/** The connect of one client: what lib/handlers/connect.js does for a Clean Start 1 CONNECT it accepts. */
function connect (client: ConnectingClient, packet: AnyPacket, done: Callback): void {
  if (client._connectTimer !== null) clearTimeout(client._connectTimer)
  client._connectTimer = null
  client.connecting = true
  client.broker.preConnect(client, packet, (err, ok) => {
    if (!err && ok === true) { setImmediate(accept, client, packet, done); return }
    // A v5 redirect from preConnect (aedes #838): CONNACK 0x9C/0x9D with the server reference.
    if (err && err.serverReference !== undefined && err.serverReference !== null && packet.protocolVersion === 5) {
      err.reasonCode = redirectCode(err)
      const connack = connackOf(client, 5, CONNACK_V3.ACCEPTED, err.reasonCode, { serverReference: err.serverReference })
      writeConnack(client, connack, 5, (werr) => {
        if (!werr) { client.broker.emit('connackSent', connack, client); client.connackSent = true }
        client.connecting = false
        done(err)
      })
      return
    }
    client.connecting = false
    done(err ?? undefined)
  })
}

/** 0x9D Server moved when the hook asked for it, else 0x9C Use another server. */
function redirectCode (err: Record<string, any>): number {
  return err.reasonCode === REASON.SERVER_MOVED ? REASON.SERVER_MOVED : REASON.USE_ANOTHER_SERVER
}

/** The client fields aedes's init sets, then the steps. */
function accept (client: ConnectingClient, packet: AnyPacket, done: Callback): void {
  const broker = client.broker
  const version = packet.protocolVersion as number
  const properties = packet.properties as Record<string, any> | undefined
  const given = typeof packet.clientId === 'string' && packet.clientId !== ''
  // MQTT 5: an empty client id is assigned one, told in CONNACK [MQTT-3.2.2-16]
  const id: string = given ? packet.clientId : 'aedes_' + randomUUID()
  client.id = id
  client.version = version
  client._wireVersion = version
  client._assignedClientId = given ? undefined : id
  if (version === 5 && broker.keepaliveLimit > 0 && (!(packet.keepalive > 0) || packet.keepalive > broker.keepaliveLimit)) {
    client._serverKeepAlive = broker.keepaliveLimit
  }
  // v3/v4: a clean session ends with the connection; v5: Session Expiry Interval, absent = 0
  const requested = version === 5 ? properties?.sessionExpiryInterval ?? 0 : 0
  client._connectSessionExpiryInterval = requested
  client.sessionExpiryInterval = broker.clampSessionExpiry(requested)
  client._sessionExpiryClamped = version === 5 && client.sessionExpiryInterval !== requested
  client.clean = client.sessionExpiryInterval === 0
  client._cleanStart = true // [MQTT-3.1.2-4]
  client.maximumPacketSize = properties?.maximumPacketSize
  client.receiveMaximum = properties?.receiveMaximum ?? RECEIVE_MAXIMUM_DEFAULT
  client._requestProblemInformation = properties?.requestProblemInformation !== false
  client._requestResponseInformation = properties?.requestResponseInformation === true
  client._will = packet.will ?? null
  const finish: Callback = (err) => {
    client.connecting = false
    if (err === null || err === undefined) {
      client.connected = true
      broker.emit('clientReady', client)
      client.emit('connected')
    }
    done(err)
  }
  authenticate(client, packet, finish)
}

// The steps, each calling the next; `finish` ends the series as runSeries's done would.

function authenticate (client: ConnectingClient, packet: AnyPacket, finish: Callback): void {
  client.pause()
  client.broker.authenticate(client, packet.username, packet.password, (err, ok) => {
    // client.close() or broker.close() came first: nothing is registered (aedes stops here too)
    if (client.closed || client.broker.closed) return
    if (!err && ok) {
      client._authorized = true
      setKeepAlive(client, packet, finish)
      return
    }
    refuse(client, err, finish)
  })
}

/** An authenticate refusal: CONNACK with the code, then the close [MQTT-3.2.2-5]. */
function refuse (client: ConnectingClient, err: (Error & Record<string, any>) | null, finish: Callback): void {
  let returnCode: number = CONNACK_V3.NOT_AUTHORIZED
  let error: Error & Record<string, any>
  if (err) {
    const code = err.returnCode
    if (typeof code === 'number' && code >= CONNACK_V3.IDENTIFIER_REJECTED && code <= CONNACK_V3.NOT_AUTHORIZED) returnCode = code
    if (!err.message) err.message = REFUSAL_MESSAGES[returnCode]
    error = err
  } else {
    error = new Error(REFUSAL_MESSAGES[returnCode])
  }
  let reasonCode: number | undefined
  let properties: Record<string, unknown> | undefined
  if (client.version === 5 && error.serverReference !== undefined && error.serverReference !== null && error.serverReference !== '') {
    reasonCode = redirectCode(error)
    properties = { serverReference: error.serverReference }
    error.reasonCode = reasonCode
  }
  error.errorCode = returnCode
  const version = client._wireVersion ?? 4
  const connack = connackOf(client, version, returnCode, reasonCode, properties)
  writeConnack(client, connack, version, (werr) => {
    if (!werr) {
      client.broker.emit('connackSent', connack, client)
      client.connackSent = true
    }
    client.close(() => { finish(error) })
  })
}

function setKeepAlive (client: ConnectingClient, packet: AnyPacket, finish: Callback): void {
  const keepalive = client._serverKeepAlive ?? packet.keepalive
  if (keepalive > 0) {
    // [MQTT-3.1.2-24] one and a half keepalives without a packet close the connection
    client._keepaliveInterval = keepalive * 1500 + 1
    // a shared function with the client as argument, not a closure: a closure here would share this
    // scope's context with the callback below and keep the connect's `finish` alive for the connection's life
    client._keepaliveTimer = setTimeout(closeOnKeepaliveTimeout, client._keepaliveInterval, client)
  }
  // fetchSubs of a clean start: the stored session ends [MQTT-3.1.2-4]; Session Present 0 [MQTT-3.2.2-1]
  client.broker.persistence.cleanSubscriptions(client).then(() => { storeWill(client, finish) }, finish)
}

function closeOnKeepaliveTimeout (client: ConnectingClient): void {
  client.broker.emit('keepaliveTimeout', client)
  client.emit('error', new Error('keep alive timeout'))
}

function storeWill (client: ConnectingClient, finish: Callback): void {
  const persistence = client.broker.persistence
  client.will = client._will
  // A will of an earlier connection is deleted first; a failed delete does not stop the connect (aedes goes on too).
  persistence.delWill(client).catch(noop).then(() => {
    if (client.will !== null) persistence.putWill(client, client.will).then(() => { register(client, finish) }, finish)
    else register(client, finish)
  }, noop)
}

function register (client: ConnectingClient, finish: Callback): void {
  try {
    client.broker.registerClient(client)
  } catch (err) {
    finish(err as Error) // the connect fails, as a failed step of aedes's series does
    return
  }
  const version = client._wireVersion ?? 4
  const connack = connackOf(client, version, CONNACK_V3.ACCEPTED, undefined, undefined)
  writeConnack(client, connack, version, (err) => {
    if (err === null || err === undefined) {
      client.broker.emit('connackSent', connack, client)
      client.connackSent = true
      emptyQueue(client, finish)
    } else {
      finish(err)
    }
  })
}

function noop (): void {}

/** The CONNACK aedes's doConnack builds (v5 success: the broker's capabilities); Session Present is 0 for a clean start [MQTT-3.2.2-1]. */
function connackOf (client: ConnectingClient, version: number, returnCode: number, reasonCode: number | undefined, properties: Record<string, unknown> | undefined): AnyPacket {
  if (version !== 5) return { cmd: 'connack', sessionPresent: false, returnCode }
  const broker = client.broker
  if (returnCode === CONNACK_V3.ACCEPTED && reasonCode === undefined && properties === undefined) {
    const p: Record<string, unknown> = { sharedSubscriptionAvailable: false }
    if (broker.topicAliasMaximum > 0) p.topicAliasMaximum = broker.topicAliasMaximum
    if (broker.maximumPacketSize > 0) p.maximumPacketSize = broker.maximumPacketSize
    if (broker.receiveMaximum > 0) p.receiveMaximum = broker.receiveMaximum
    if (client._assignedClientId !== undefined) p.assignedClientIdentifier = client._assignedClientId
    if (client._serverKeepAlive !== undefined && client._serverKeepAlive > 0) p.serverKeepAlive = client._serverKeepAlive
    if (client._sessionExpiryClamped === true) p.sessionExpiryInterval = client.sessionExpiryInterval
    return { cmd: 'connack', sessionPresent: false, reasonCode: REASON.SUCCESS, properties: p }
  }
  const packet: AnyPacket = { cmd: 'connack', sessionPresent: false, reasonCode: reasonCode ?? V5_CODE_OF_RETURN_CODE[returnCode] ?? REASON.UNSPECIFIED_ERROR }
  if (properties !== undefined) packet.properties = properties
  return packet
}

/** aedes's write (lib/write.js): through mqtt-packet's writeToStream as edgemq has it, done a turn later or after a drain. */
function writeConnack (client: ConnectingClient, packet: AnyPacket, version: number, done: Callback): void {
  let error: Error | null = null
  if (client.connecting || client.connected) {
    try {
      const written = mqttPacket.writeToStream(packet as mqttPacket.Packet, client.conn, WRITE_OPTIONS[version] ?? WRITE_OPTIONS[4])
      if (!written && !client.errored) { client.waitForDrain(done); return }
    } catch (err) {
      error = new Error('packet received not valid', { cause: err })
    }
  } else {
    error = new Error('connection closed')
  }
  setImmediate(done, error)
}

/** emptyQueue of a clean start: nothing queued, only resume; a queue a former session left is cleared, never sent. */
function emptyQueue (client: ConnectingClient, finish: Callback): void {
  const persistence = client.broker.persistence
  if (persistence.outgoingIsEmpty?.(client) === true) {
    client.resume()
    finish(null)
    return
  }
  const queue = persistence.outgoingStream(client)
  client.resume()
  void clearQueue(client, persistence, queue).then(() => { finish(null) }, finish)
}

/** What aedes's emptyQueue does with each stored message of a clean start: gives it a packet id, records it, clears it. */
async function clearQueue (client: ConnectingClient, persistence: ConnectPersistence, queue: AsyncIterable<AnyPacket>): Promise<void> {
  for await (const data of queue) {
    const packet: AnyPacket = { ...data }
    // a packet id as aedes's QoSPacket gives one (the stored one, else the client's next)
    if (packet.messageId === undefined || packet.messageId === null || packet.messageId === 0) {
      packet.messageId = client._nextId
      client._nextId = client._nextId >= 65_535 ? 1 : client._nextId + 1
    }
    try {
      await persistence.outgoingUpdate(client, packet)
    } catch (err) {
      client.emit('error', err)
      continue
    }
    await persistence.outgoingClearMessageId(client, packet)
  }
}
