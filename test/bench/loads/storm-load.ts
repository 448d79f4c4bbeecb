// A reconnect storm: every device of a gateway logs in at once with its
// password, as after a reboot or a Wi-Fi blip (issue 16). Each client retries
// `retryMs` after a refusal (a CONNACK other than 0, or a close without one),
// up to `maxTries` attempts, then gives up. Sockets are bound to source
// addresses 127.0.1.x (all of 127/8 is loopback on Linux), so the broker sees
// many devices on many addresses, or all of them behind one NAT address.
// The connected links stay open in this process until stormDisconnect.
import { connect, type Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import mqttPacket from 'mqtt-packet'
import { DISCONNECT_BYTES } from '../mqtt-wire.ts'
import { quantile, round } from '../stats.ts'

/** What one storm is. */
export interface StormParams {
  port: number
  clients: number
  /** Clients i log in as user (i % users), password `pw-user<n>`. */
  users: number
  /** Distinct source addresses 127.0.1.1 .. 127.0.1.<addresses>; 1 = all behind one address. */
  addresses: number
  retryMs: number
  maxTries: number
  /** Per attempt: no CONNACK within this is a refusal. */
  attemptTimeoutMs: number
}

/** What one storm measured. */
export interface StormResult {
  connected: number
  gaveUp: number
  refusals: number
  /** Refusals by CONNACK code ("closed" / "timeout" for none). */
  refusalCodes: Record<string, number>
  /** From the start until the last client was in (NaN when some gave up). */
  allConnectedMs: number
  attempts: number
  /** CONNACK latency of every attempt (socket open to CONNACK), ms. */
  connackP50Ms: number
  connackP99Ms: number
}

const links: Socket[] = []

/** The plain-text password of user n, as the harness writes it into both brokers' password files. */
export function stormPassword (user: number): string {
  return `pw-user${user}`
}

/** One attempt: the CONNACK code (or 'closed' / 'timeout') and the socket when accepted. */
async function attempt (p: StormParams, i: number): Promise<{ code: string, ms: number, socket?: Socket }> {
  const user = i % p.users
  const localAddress = `127.0.1.${1 + (i % p.addresses)}`
  const started = performance.now()
  return await new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: p.port, localAddress, noDelay: true })
    let done = false
    const finish = (code: string, keep: boolean): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      const ms = performance.now() - started
      if (keep) resolve({ code, ms, socket })
      else { socket.destroy(); resolve({ code, ms }) }
    }
    const timer = setTimeout(() => finish('timeout', false), p.attemptTimeoutMs)
    socket.on('error', () => finish('closed', false))
    socket.on('close', () => finish('closed', false))
    socket.once('connect', () => {
      socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 600, clientId: `storm-${i}`, username: `user${user}`, password: Buffer.from(stormPassword(user)) }))
    })
    socket.once('data', (buf: Buffer) => {
      if (buf[0] !== 0x20) { finish('closed', false); return }
      finish(String(buf[3]), buf[3] === 0)
    })
  })
}

/** Runs one storm; connected clients stay connected. */
export async function storm (p: StormParams): Promise<StormResult> {
  const started = performance.now()
  const latencies: number[] = []
  const refusalCodes: Record<string, number> = {}
  let refusals = 0; let gaveUp = 0; let connected = 0; let last = 0
  await Promise.all(Array.from({ length: p.clients }, async (_, i) => {
    for (let tries = 1; tries <= p.maxTries; tries++) {
      const r = await attempt(p, i)
      latencies.push(r.ms)
      if (r.socket !== undefined) {
        r.socket.on('error', () => {})
        links.push(r.socket)
        connected++
        last = Math.max(last, performance.now() - started)
        return
      }
      refusals++
      refusalCodes[r.code] = (refusalCodes[r.code] ?? 0) + 1
      if (tries < p.maxTries) await new Promise((resolve) => setTimeout(resolve, p.retryMs))
    }
    gaveUp++
  }))
  latencies.sort((a, b) => a - b)
  return {
    connected,
    gaveUp,
    refusals,
    refusalCodes,
    allConnectedMs: gaveUp > 0 ? Number.NaN : round(last, 0),
    attempts: latencies.length,
    connackP50Ms: round(quantile(latencies, 0.5), 1),
    connackP99Ms: round(quantile(latencies, 0.99), 1)
  }
}

/** Every connected storm client sends DISCONNECT; resolves when all sockets have closed (or after 10 s). */
export async function stormDisconnect (): Promise<{ closed: number }> {
  const all = links.splice(0)
  await Promise.all(all.map(async (s) => await new Promise<void>((resolve) => {
    if (s.destroyed) { resolve(); return }
    const timer = setTimeout(() => { s.destroy(); resolve() }, 10_000)
    s.once('close', () => { clearTimeout(timer); resolve() })
    s.end(DISCONNECT_BYTES)
  })))
  return { closed: all.length }
}
