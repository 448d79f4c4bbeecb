// Override: a look at each packet (and parse error) before aedes handles it.
// What aedes 2.0.0-beta.1 does: its client listens to `client._parser`'s
//   'packet' and 'error' events (lib/client.js) and handles whatever
//   mqtt-packet parsed; the parser knows its client as `parser.client`.
// What edgemq does instead: overrides that must refuse a packet first (the
//   server's Receive Maximum, bad acknowledgements, CONNECT checks) register
//   a filter once per broker with addPacketFilter / addParseErrorFilter; a
//   filter returns false when it has dealt with the packet (closed the
//   connection), and aedes's listeners then never see it. The filter added
//   last runs first. src/engine/guard-parser.ts sits behind the filters and in
//   front of aedes's own listener.
// Why one shared listener: each client gets the same two listener functions
//   (they find their client as `this.client` and their filters on its broker),
//   not a closure, a listener copy and a context per override per connection:
//   six overrides cost ~1.5 KiB per idle connection that way (heap snapshot of
//   2,000 connections, issue 10).
// Canary: test/engine/intercept-parsed-packets.test.ts (parser.client, the
//   parser's events) and test/engine/enforce-receive-maximum.test.ts.
import type { EventEmitter } from 'node:events'

type AnyPacket = Record<string, any> & { cmd: string }

/** The aedes client as a filter sees it (a filter casts to the members it reads). */
export type FilteredClient = Record<string | symbol, any> & { broker: object, _parser: EventEmitter }

/** Looks at one parsed packet; false when it dealt with it (aedes must not see it). */
export type PacketFilter = (client: FilteredClient, packet: AnyPacket) => boolean
/** Looks at one parse error; false when it dealt with it. */
export type ParseErrorFilter = (client: FilteredClient, err: Error) => boolean

interface Filters { packets: PacketFilter[], errors: ParseErrorFilter[] }

const FILTERS = Symbol('edgemq.parsedPacketFilters')
/** The parser's listeners from before the filters were put in front (one function, or a list when several). */
const NEXT_PACKET = Symbol('edgemq.nextPacketListeners')
const NEXT_ERROR = Symbol('edgemq.nextErrorListeners')

type Listener = (this: any, arg: any) => void
type ParserWithNext = EventEmitter & { client?: FilteredClient, [key: symbol]: Listener | Listener[] | undefined }

/** Puts `filter` in front of the 'packet' listeners of every client the broker builds from now on. */
export function addPacketFilter (aedes: unknown, filter: PacketFilter): void {
  filtersOf(aedes).packets.unshift(filter)
}

/** Puts `filter` in front of the 'error' listeners of every client's parser the broker builds from now on. */
export function addParseErrorFilter (aedes: unknown, filter: ParseErrorFilter): void {
  filtersOf(aedes).errors.unshift(filter)
}

/** The broker's filter lists; the first call wraps its handle() so each new client gets the two shared listeners. */
function filtersOf (aedes: unknown): Filters {
  const broker = aedes as { [FILTERS]?: Filters, handle: (conn: unknown, req: unknown) => { _parser: EventEmitter } }
  let filters = broker[FILTERS]
  if (filters !== undefined) return filters
  filters = { packets: [], errors: [] }
  broker[FILTERS] = filters
  const handle = broker.handle
  broker.handle = function handleFiltered (this: unknown, conn: unknown, req: unknown) {
    const client = handle.call(this, conn, req)
    putInFront(client._parser, NEXT_PACKET, filterPacket, NEXT_ERROR, filterParseError)
    return client
  }
  return filters
}

/**
 * Replaces the parser's 'packet' and 'error' listeners by `onPacket` and
 * `onError`, keeping the old ones under `packetKey` / `errorKey` for them to
 * call.
 */
export function putInFront (parser: EventEmitter, packetKey: symbol, onPacket: Listener, errorKey: symbol, onError: Listener): void {
  const p = parser as ParserWithNext
  const packet = parser.listeners('packet') as Listener[]
  const error = parser.listeners('error') as Listener[]
  if (packet.length > 0) parser.removeAllListeners('packet')
  if (error.length > 0) parser.removeAllListeners('error')
  p[packetKey] = packet.length === 1 ? packet[0] : packet
  p[errorKey] = error.length === 1 ? error[0] : error
  parser.on('packet', onPacket)
  parser.on('error', onError)
}

/** Calls the listeners kept under `key` by putInFront. */
export function callNext (parser: EventEmitter, key: symbol, arg: unknown): void {
  const next = (parser as ParserWithNext)[key]
  if (typeof next === 'function') next.call(parser, arg)
  else if (next !== undefined) for (const l of next) l.call(parser, arg)
}

/** The one 'packet' listener of every filtered client's parser. */
function filterPacket (this: ParserWithNext, packet: AnyPacket): void {
  const client = this.client
  if (client !== undefined) {
    const filters = (client.broker as { [FILTERS]?: Filters })[FILTERS]
    if (filters !== undefined) for (const f of filters.packets) if (!f(client, packet)) return
  }
  callNext(this, NEXT_PACKET, packet)
}

/** The one 'error' listener of every filtered client's parser. */
function filterParseError (this: ParserWithNext, err: Error): void {
  const client = this.client
  if (client !== undefined) {
    const filters = (client.broker as { [FILTERS]?: Filters })[FILTERS]
    if (filters !== undefined) for (const f of filters.errors) if (!f(client, err)) return
  }
  callNext(this, NEXT_ERROR, err)
}
