// PROXY protocol v1 (text) and v2 (binary) header parsing, per the HAProxy
// specification (proxy-protocol.txt). A listener behind a load balancer sees
// the balancer's address; the header carries the real client's, so bans,
// allow/deny lists and per-IP limits apply to the client and not to the
// balancer. Only accepted from trusted proxy addresses: anyone else could
// forge any source address.
import { isIP, type Socket } from 'node:net'
import { IpRangeSet, normalizeIp } from './ip-filter.ts'

/** The 12-byte signature that starts a v2 header. */
export const PROXY_V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a])
/** A v1 line is at most 107 bytes, CRLF included (spec section 2.1). */
export const PROXY_V1_MAX = 107
/** Largest v2 header we accept: 16 + addresses + TLVs; 2 KiB is ample for real balancers. */
export const PROXY_V2_MAX = 16 + 2048

/** Result of parsing the first bytes of a connection. */
export type ProxyParseResult =
  | { status: 'incomplete' }
  | { status: 'error', reason: string }
  /** `source` is undefined for LOCAL/UNKNOWN (health checks): keep the socket's own address. */
  | { status: 'ok', source?: { ip: string, port: number }, destination?: { ip: string, port: number }, headerLength: number, rest: Buffer }

/** Parses a PROXY v1 or v2 header at the start of `buf` (pure; no I/O). */
export function parseProxyHeader (buf: Buffer): ProxyParseResult {
  if (buf.length === 0) return { status: 'incomplete' }
  const sigLen = Math.min(buf.length, PROXY_V2_SIGNATURE.length)
  if (buf.subarray(0, sigLen).equals(PROXY_V2_SIGNATURE.subarray(0, sigLen))) {
    return buf.length < 16 ? { status: 'incomplete' } : parseV2(buf)
  }
  const v1Prefix = Buffer.from('PROXY ')
  const n = Math.min(buf.length, v1Prefix.length)
  if (buf.subarray(0, n).equals(v1Prefix.subarray(0, n))) return parseV1(buf)
  return { status: 'error', reason: 'no PROXY protocol header (the listener has proxyProtocol: true; connect through the load balancer)' }
}

function parseV1 (buf: Buffer): ProxyParseResult {
  const end = buf.indexOf('\r\n')
  if (end < 0) return buf.length >= PROXY_V1_MAX ? { status: 'error', reason: 'PROXY v1 line longer than 107 bytes' } : { status: 'incomplete' }
  if (end + 2 > PROXY_V1_MAX) return { status: 'error', reason: 'PROXY v1 line longer than 107 bytes' }
  const line = buf.subarray(0, end).toString('latin1')
  const parts = line.split(' ')
  const rest = buf.subarray(end + 2)
  if (parts[1] === 'UNKNOWN') return { status: 'ok', headerLength: end + 2, rest }
  if (parts.length !== 6 || (parts[1] !== 'TCP4' && parts[1] !== 'TCP6')) return { status: 'error', reason: `bad PROXY v1 line ${JSON.stringify(line.slice(0, 60))}` }
  const [, family, src, dst, sport, dport] = parts
  const want = family === 'TCP4' ? 4 : 6
  const ports = [sport, dport].map((p) => /^(0|[1-9]\d{0,4})$/.test(p) ? Number(p) : -1)
  if (!isFamily(src, want) || !isFamily(dst, want) || ports.some((p) => p < 0 || p > 65_535)) {
    return { status: 'error', reason: `bad PROXY v1 addresses ${JSON.stringify(line.slice(0, 60))}` }
  }
  return { status: 'ok', source: { ip: normalizeIp(src), port: ports[0] }, destination: { ip: normalizeIp(dst), port: ports[1] }, headerLength: end + 2, rest }
}

function isFamily (ip: string, family: 4 | 6): boolean {
  // Strict forms only: dotted quads without leading zeros, IPv6 without zone ids.
  if (family === 4) return /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/.test(ip)
  return /^[0-9a-fA-F:.]+$/.test(ip) && isIP(ip) === 6
}

function parseV2 (buf: Buffer): ProxyParseResult {
  const verCmd = buf[12]
  if ((verCmd >> 4) !== 2) return { status: 'error', reason: `PROXY v2 version ${verCmd >> 4} (only 2 exists)` }
  const cmd = verCmd & 0x0f
  const famProto = buf[13]
  const len = buf.readUInt16BE(14)
  if (16 + len > PROXY_V2_MAX) return { status: 'error', reason: `PROXY v2 header of ${16 + len} bytes (at most ${PROXY_V2_MAX})` }
  if (buf.length < 16 + len) return { status: 'incomplete' }
  const headerLength = 16 + len
  const rest = buf.subarray(headerLength)
  if (cmd === 0x0) return { status: 'ok', headerLength, rest } // LOCAL: the proxy's own health check
  if (cmd !== 0x1) return { status: 'error', reason: `PROXY v2 command ${cmd} (only LOCAL and PROXY exist)` }
  const family = famProto >> 4
  const transport = famProto & 0x0f
  if (transport !== 0x1) {
    // UNSPEC or UDP: no usable stream address; the spec says treat as LOCAL for UNSPEC.
    if (family === 0 && transport === 0) return { status: 'ok', headerLength, rest }
    return { status: 'error', reason: `PROXY v2 transport ${transport} (only STREAM is MQTT)` }
  }
  const body = buf.subarray(16, headerLength)
  if (family === 0x1) {
    if (len < 12) return { status: 'error', reason: 'PROXY v2 TCP4 block shorter than 12 bytes' }
    const src = Array.from(body.subarray(0, 4)).join('.')
    const dst = Array.from(body.subarray(4, 8)).join('.')
    return { status: 'ok', source: { ip: src, port: body.readUInt16BE(8) }, destination: { ip: dst, port: body.readUInt16BE(10) }, headerLength, rest }
  }
  if (family === 0x2) {
    if (len < 36) return { status: 'error', reason: 'PROXY v2 TCP6 block shorter than 36 bytes' }
    const v6 = (b: Buffer): string => normalizeIp(Array.from({ length: 8 }, (_, i) => b.readUInt16BE(i * 2).toString(16)).join(':'))
    return { status: 'ok', source: { ip: v6(body.subarray(0, 16)), port: body.readUInt16BE(32) }, destination: { ip: v6(body.subarray(16, 32)), port: body.readUInt16BE(34) }, headerLength, rest }
  }
  if (family === 0x0) return { status: 'ok', headerLength, rest }
  return { status: 'error', reason: `PROXY v2 address family ${family} (unix sockets are not accepted)` }
}

/** The outcome of reading a header from a live socket. */
export type ProxyReadResult =
  | { ok: true, ip: string, port: number, rest: Buffer }
  | { ok: false, reason: string }

/**
 * Reads the PROXY header from a freshly accepted socket of a proxyProtocol
 * listener. A peer outside `trustedProxies` is refused before a byte is read
 * (it could forge any source address). Resolves with the real client address
 * and the bytes that followed the header (to be unshifted into the socket
 * before MQTT parsing). The socket is paused again when it resolves.
 */
export function readProxyHeader (socket: Socket, options: { trustedProxies: readonly string[], timeoutMs: number }): Promise<ProxyReadResult> {
  const peer = normalizeIp(socket.remoteAddress ?? '')
  if (!new IpRangeSet(options.trustedProxies).contains(peer)) {
    return Promise.resolve({ ok: false, reason: `PROXY header from untrusted address ${peer} (add it to trustedProxies)` })
  }
  return new Promise((resolve) => {
    let buf: Buffer = Buffer.alloc(0)
    const finish = (result: ProxyReadResult): void => {
      clearTimeout(timer)
      socket.off('data', onData)
      socket.off('close', onClose)
      socket.off('error', onClose)
      socket.pause()
      resolve(result)
    }
    const onData = (chunk: Buffer): void => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk])
      const r = parseProxyHeader(buf)
      if (r.status === 'incomplete') return
      if (r.status === 'error') { finish({ ok: false, reason: r.reason }); return }
      finish({ ok: true, ip: r.source?.ip ?? peer, port: r.source?.port ?? socket.remotePort ?? 0, rest: r.rest })
    }
    const onClose = (): void => finish({ ok: false, reason: 'closed before the PROXY header' })
    const timer = setTimeout(() => finish({ ok: false, reason: `no PROXY header within ${options.timeoutMs} ms` }), options.timeoutMs)
    socket.on('data', onData)
    socket.once('close', onClose)
    socket.once('error', onClose)
    socket.resume()
  })
}

/**
 * For a listener's accept path: the client address of a fresh socket. With
 * `proxyProtocol` off it is the socket's own; with it on, the PROXY header is
 * read (only from `trustedProxies`), the bytes after it are put back for the
 * MQTT parser, and undefined is returned (socket destroyed) when the header
 * is missing, malformed, late or from an untrusted peer.
 */
export async function resolveClientAddress (socket: Socket, listener: { proxyProtocol?: unknown, trustedProxies?: unknown }, timeoutMs = 10_000): Promise<{ ip: string, port: number } | undefined> {
  if (listener.proxyProtocol !== true) return { ip: normalizeIp(socket.remoteAddress ?? ''), port: socket.remotePort ?? 0 }
  const r = await readProxyHeader(socket, { trustedProxies: (listener.trustedProxies as string[] | undefined) ?? [], timeoutMs })
  if (!r.ok) { socket.destroy(); return undefined }
  if (r.rest.length > 0) socket.unshift(r.rest)
  socket.resume()
  return { ip: r.ip, port: r.port }
}
