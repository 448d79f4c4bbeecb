// The broker core's own figures in the registry: connected clients by
// listener and protocol version, connects and refusals, messages and bytes by
// QoS, open sockets, listeners bound, store open. The composition root keeps
// the plain counters; this file only reads them at scrape time.
import type { BrokerHooks, ClientInfo } from '../broker-hooks.ts'
import type { EdgemqConfig } from '../config/types.ts'
import { REASON } from '../reason-codes.ts'
import type { Observatory } from './observatory.ts'

/** Per-QoS counts, indexed by QoS (0, 1, 2): `received[qos]++` costs no allocation. */
export interface PacketCounters {
  received: number[]
  receivedBytes: number[]
  sent: number[]
  sentBytes: number[]
}

/** Zeroed per-QoS counters. */
export function createPacketCounters (): PacketCounters {
  return { received: [0, 0, 0], receivedBytes: [0, 0, 0], sent: [0, 0, 0], sentBytes: [0, 0, 0] }
}

/** What the core lends to its metrics. */
export interface CoreSources {
  hooks: BrokerHooks
  packets: PacketCounters
  counters: { connectionsRefused: number, malformedClosed: number }
  openSockets: () => number
  storeOpen: () => boolean
  /** Outgoing QoS 1/2 messages sent and awaiting their acknowledgement, over all connections. */
  inflight: () => number
  config: () => EdgemqConfig
  /** The bound address of a listener, undefined when it is not bound. */
  bound: (name: string) => { host: string, port: number } | undefined
}

const PROTOCOL_NAMES: Record<number, string> = { 3: '3.1', 4: '3.1.1', 5: '5.0' }

/** Reason code → the name used as a label ("not_authorized"). */
const REASON_NAMES = new Map<number, string>(Object.entries(REASON).map(([k, v]) => [v as number, k.toLowerCase()]))

/** Registers the core's readers, readiness checks and the clients and listeners status sections. */
export function registerCoreMetrics (observe: Observatory, src: CoreSources): void {
  const m = observe.metrics
  // Connected clients, with the time they connected (monotonic: a clock jump at boot changes nothing).
  const clients = new Map<ClientInfo, number>()
  let connects = 0
  const refusedByCode = new Map<number, number>()
  src.hooks.connected.push((client) => { clients.set(client, performance.now()); connects++ })
  src.hooks.disconnected.push((client) => { clients.delete(client) })
  src.hooks.connectFailed.push((_req, decision) => {
    if (decision.ok) return
    refusedByCode.set(decision.reasonCode, (refusedByCode.get(decision.reasonCode) ?? 0) + 1)
  })

  m.read('edgemq_connections', (emit) => {
    const counts = new Map<string, { listener: string, protocol: string, n: number }>()
    // every configured MQTT listener shows, with 0 when nobody is connected
    for (const l of src.config().listeners) {
      if (l.type === 'http' || l.type === 'https') continue
      for (const p of ['3.1.1', '5.0']) counts.set(`${l.name}\n${p}`, { listener: l.name, protocol: p, n: 0 })
    }
    for (const c of clients.keys()) {
      const protocol = PROTOCOL_NAMES[c.protocolVersion] ?? String(c.protocolVersion)
      const key = `${c.listener}\n${protocol}`
      const e = counts.get(key)
      if (e !== undefined) e.n++
      else counts.set(key, { listener: c.listener, protocol, n: 1 })
    }
    for (const e of counts.values()) emit(e.n, { listener: e.listener, protocol: e.protocol })
  })
  m.read('edgemq_sockets_open', (emit) => { emit(src.openSockets()) })
  m.read('edgemq_connects_total', (emit) => { emit(connects) })
  m.read('edgemq_connects_refused_total', (emit) => {
    emit(src.counters.connectionsRefused, { reason: 'accept' })
    emit(src.counters.malformedClosed, { reason: 'malformed' })
    for (const [code, n] of refusedByCode) emit(n, { reason: REASON_NAMES.get(code) ?? `0x${code.toString(16)}` })
  })
  const perQos = (name: string, values: number[]): void => {
    m.read(name, (emit) => { for (let q = 0; q < 3; q++) emit(values[q], { qos: String(q) }) })
  }
  perQos('edgemq_messages_received_total', src.packets.received)
  perQos('edgemq_received_bytes_total', src.packets.receivedBytes)
  perQos('edgemq_messages_sent_total', src.packets.sent)
  perQos('edgemq_sent_bytes_total', src.packets.sentBytes)
  m.read('edgemq_inflight_messages', (emit) => { emit(src.inflight()) })
  m.read('edgemq_store_open', (emit) => { emit(src.storeOpen() ? 1 : 0) })
  m.read('edgemq_listener_up', (emit) => {
    for (const l of src.config().listeners) emit(src.bound(l.name) === undefined ? 0 : 1, { listener: l.name, type: l.type })
  })
  m.read('edgemq_ready', (emit) => { emit(observe.readiness().ready ? 1 : 0) })
  m.read('edgemq_up', (emit) => { emit(1) })

  observe.addReadiness('store', () => ({ name: 'store', ok: src.storeOpen(), detail: src.storeOpen() ? 'open' : 'closed' }))
  observe.addReadiness('listeners', () => src.config().listeners.map((l) => {
    const at = src.bound(l.name)
    return { name: `listener ${l.name}`, ok: at !== undefined, detail: at === undefined ? 'not bound' : `${at.host}:${at.port}` }
  }))
  observe.addStatus('listeners', () => src.config().listeners.map((l) => {
    const at = src.bound(l.name)
    return { name: l.name, type: l.type, host: l.host, port: at?.port ?? l.port, bound: at !== undefined }
  }))
  observe.addStatus('clients', () => {
    const now = performance.now()
    return [...clients].map(([c, at]) => ({ id: c.id, user: c.username, ip: c.ip, listener: c.listener, protocol: PROTOCOL_NAMES[c.protocolVersion] ?? String(c.protocolVersion), connectedSeconds: Math.round((now - at) / 1000) }))
  })
}
