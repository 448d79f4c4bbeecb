// Starts one listener (tcp, tls, ws, wss) and hands every accepted connection,
// as a duplex stream with its peer address and its frame guard
// (src/listeners/frame-guard.ts), to `onConnection`; an http/https listener
// hands each request to `request` instead (src/observability/http-app.ts).
import { readFile } from 'node:fs/promises'
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http'
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net'
import type { SecureContextOptions, TLSSocket } from 'node:tls'
import { loadBuiltin } from '../core/load-builtin.ts'
import type { Duplex } from 'node:stream'
import { EdgemqError, ERROR_CODES } from '../errors.ts'
import { resolveClientAddress } from './proxy-protocol.ts'
import type { ListenerConfig } from '../config/types.ts'
import { guardFrames, type FrameGuard } from './frame-guard.ts'
import { revocationKeyOf } from '../auth/revocation-list.ts'

/** What a listener knows about a new connection. */
export interface IncomingConnection {
  stream: Duplex
  /** The underlying TCP socket (for pause/resume, addresses, TLS details). */
  socket: Socket
  ip: string
  port: number
  /** The verified client certificate (tls/wss with requestCertificate), if any. */
  certificate?: { subjectCN?: string, subjectAltNames: string[], fingerprint256: string, revocationKey?: string }
  /** The frame guard on this connection's stream (set onOversize to close it your way). */
  frames: FrameGuard
}

/** A started listener. */
export interface RunningListener {
  config: ListenerConfig
  /** The bound address (the real port when the config said 0). */
  address: { host: string, port: number }
  /** Stops accepting and closes this listener's connections (after `graceMs` for them to go on their own). */
  close: (graceMs?: number) => Promise<void>
  /** Loads new certificates and keys without dropping clients (tls, wss). */
  reloadTls: (config: ListenerConfig) => Promise<void>
  /** Reads and checks new certificates and keys (throws when they are bad); the returned function swaps them in. */
  prepareTls: (config: ListenerConfig) => Promise<() => void>
}

// Modern ciphers only: ECDHE for forward secrecy, AEAD modes. TLS 1.3 suites are
// always on. Matches Mozilla's "intermediate" profile.
const CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305'
].join(':')

/** Builds the TLS options of a listener from its files. */
export async function loadTlsOptions (config: ListenerConfig): Promise<SecureContextOptions & { requestCert: boolean, rejectUnauthorized: boolean }> {
  const read = async (path: string | undefined, what: string): Promise<Buffer | undefined> => {
    if (path === undefined) return undefined
    try {
      return await readFile(path)
    } catch (err) {
      throw new EdgemqError(ERROR_CODES.LISTENER_FAILED, `listener ${config.name}: cannot read ${what} ${path}: ${(err as Error).message}`, { cause: err })
    }
  }
  const crlPath = typeof config.crl === 'string' ? config.crl : undefined
  return {
    cert: await read(config.cert, 'cert'),
    key: await read(config.key, 'key'),
    ca: await read(config.ca, 'ca'),
    crl: await read(crlPath, 'crl'),
    minVersion: config.minVersion,
    ciphers: CIPHERS,
    honorCipherOrder: true,
    requestCert: config.requestCertificate,
    // A certificate that does not verify is refused in the handshake when one
    // is required; when it is only requested, an unverified one is ignored.
    rejectUnauthorized: config.requireCertificate
  }
}

/** Builds a TLS context from a listener's options once, to refuse files that do not make one (not PEM, a key of another certificate). */
export function checkTlsContext (config: ListenerConfig, options: SecureContextOptions): void {
  try {
    loadBuiltin<typeof import('node:tls')>('node:tls').createSecureContext(options)
  } catch (err) {
    throw new EdgemqError(ERROR_CODES.LISTENER_FAILED, `listener ${config.name}: the TLS files do not make a usable context (${(err as Error).message}): check that cert and key are PEM and belong together (cert ${config.cert ?? '-'}, key ${config.key ?? '-'})`, { cause: err })
  }
}

/** What the listener calls: `accept` on the raw TCP connection (before any TLS or MQTT byte), `connection` once the stream is ready. */
export interface ListenerHandlers {
  /** false closes the socket at once: IP rules, bans and caps cost no handshake. */
  accept: (peer: { ip: string, port: number }) => boolean
  connection: (conn: IncomingConnection) => void
  /** limits.maxPacketSize now (the frame guard reads it at each packet; a reload applies). */
  maxPacketSize: () => number
  /** Requests of an http/https listener (the peer already passed `accept`). */
  request?: (req: IncomingMessage, res: ServerResponse) => void
  /** A TLS handshake failed (wrong CA, expired or revoked certificate, old TLS): told for the log. */
  tlsError?: (ip: string, reason: string) => void
}

/** Starts a listener; rejects with a clear error when it cannot bind. */
export async function startListener (config: ListenerConfig, handlers: ListenerHandlers): Promise<RunningListener> {
  // Every connection passes the frame guard before the engine reads it.
  const onConnection = (conn: Omit<IncomingConnection, 'frames'>): void => {
    handlers.connection({ ...conn, frames: guardFrames(conn.stream, handlers.maxPacketSize) })
  }
  const maxPayload = handlers.maxPacketSize()
  const tls = config.type === 'tls' || config.type === 'wss' || config.type === 'https' ? await loadTlsOptions(config) : undefined
  let server: NetServer | HttpServer
  const sockets = new Set<Socket>()
  // one listener function per listener, not a closure per socket ('close' comes once: on() spares once()'s wrapper)
  const untrack = function (this: Socket): void { sockets.delete(this) }
  const track = (socket: Socket): void => {
    sockets.add(socket)
    socket.on('close', untrack)
  }
  const certificateOf = (socket: Socket): IncomingConnection['certificate'] => {
    const tlsSocket = socket as TLSSocket
    if (typeof tlsSocket.getPeerCertificate !== 'function' || !tlsSocket.authorized) return undefined
    const cert = tlsSocket.getPeerCertificate()
    if (cert === undefined || cert === null || Object.keys(cert).length === 0) return undefined
    const sans = (cert.subjectaltname ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '')
    const cn = cert.subject?.CN
    let revocationKey: string | undefined
    try { revocationKey = revocationKeyOf(cert.raw) } catch { /* unreadable DER: the handshake verified it; no live revocation check */ }
    return { subjectCN: Array.isArray(cn) ? cn[0] : cn, subjectAltNames: sans, fingerprint256: cert.fingerprint256, revocationKey }
  }
  const direct = (socket: Socket, peer?: { ip: string, port: number }): void => {
    track(socket)
    onConnection({ stream: socket, socket, ip: peer?.ip ?? normalizeIp(socket.remoteAddress), port: peer?.port ?? socket.remotePort ?? 0, certificate: certificateOf(socket) })
  }
  // Runs on the raw TCP socket, before a TLS handshake or an HTTP upgrade.
  const gate = (raw: Socket): void => {
    if (!handlers.accept({ ip: normalizeIp(raw.remoteAddress), port: raw.remotePort ?? 0 })) raw.destroy()
  }
  if (config.type === 'tcp') {
    server = createNetServer({ noDelay: true }, (socket) => {
      if (config.proxyProtocol !== true) {
        if (handlers.accept({ ip: normalizeIp(socket.remoteAddress), port: socket.remotePort ?? 0 })) direct(socket)
        else socket.destroy()
        return
      }
      // Behind a load balancer: the PROXY header (only from trustedProxies)
      // names the real client, which the IP rules and bans then judge.
      track(socket)
      void resolveClientAddress(socket, { proxyProtocol: config.proxyProtocol, trustedProxies: config.trustedProxies }).then((peer) => {
        if (peer === undefined) return // bad, late or untrusted header: socket destroyed
        if (!handlers.accept(peer)) { socket.destroy(); return }
        direct(socket, peer)
      }, () => { socket.destroy() })
    })
  } else if (config.type === 'tls') {
    server = loadBuiltin<typeof import('node:tls')>('node:tls').createServer({ ...tls }, (socket) => { socket.setNoDelay(true); direct(socket) })
    server.on('connection', gate)
    // A failed handshake (wrong CA, expired, revoked, TLS 1.1) only closes that socket.
    server.on('tlsClientError', (err: Error, socket: TLSSocket) => { handlers.tlsError?.(normalizeIp(socket.remoteAddress), err.message) })
  } else if (config.type === 'http' || config.type === 'https') {
    server = startHttpServer(config, tls, handlers, track, gate)
  } else {
    // ws is loaded (initialised) by the first WebSocket listener only: most gateways have none
    const { WebSocketServer, createWebSocketStream } = await import('ws')
    const http = config.type === 'wss' ? loadBuiltin<typeof import('node:https')>('node:https').createServer({ ...tls }) : loadBuiltin<typeof import('node:http')>('node:http').createServer()
    // [MQTT-6.0.0-3] the WebSocket subprotocol is "mqtt"; maxPayload bounds one
    // frame to the max packet size (ws advisory 120: no payload limit by default).
    const wss = new WebSocketServer({
      server: http,
      path: config.path,
      maxPayload,
      handleProtocols: (protocols) => protocols.has('mqtt') ? 'mqtt' : protocols.has('mqttv3.1') ? 'mqttv3.1' : false
    })
    wss.on('connection', (ws, req) => {
      const socket = req.socket
      track(socket)
      const stream = createWebSocketStream(ws)
      stream.on('error', () => stream.destroy())
      onConnection({ stream, socket, ip: normalizeIp(socket.remoteAddress), port: socket.remotePort ?? 0, certificate: certificateOf(socket) })
    })
    wss.on('error', () => {})
    if (config.type === 'wss') http.on('tlsClientError', (err: Error, socket: TLSSocket) => { handlers.tlsError?.(normalizeIp(socket.remoteAddress), err.message) })
    http.on('connection', gate)
    // Bound the HTTP upgrade request too (GHSA-3h5v-q93c-6h6q: many headers).
    http.maxHeadersCount = 100
    http.headersTimeout = 10_000
    server = http
  }
  if (config.type !== 'http' && config.type !== 'https') server.on('clientError' as 'error', (_err: Error, socket?: Duplex) => { socket?.destroy() })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ host: config.host, port: config.port, backlog: 511 }, () => { server.off('error', reject); resolve() })
  }).catch((err: NodeJS.ErrnoException) => {
    const fix = err.code === 'EADDRINUSE' ? 'another process uses this port: stop it or choose another port'
      : err.code === 'EACCES' ? 'ports below 1024 need CAP_NET_BIND_SERVICE: use a higher port or grant the capability'
        : err.code === 'EADDRNOTAVAIL' ? 'this machine has no such address: use 127.0.0.1, 0.0.0.0 or one of its own addresses' : 'check host and port'
    throw new EdgemqError(ERROR_CODES.LISTENER_FAILED, `listener ${config.name} (${config.type}) cannot listen on ${config.host}:${config.port}: ${err.message} (${fix})`, { cause: err })
  })
  const addr = server.address()
  const port = typeof addr === 'object' && addr !== null ? addr.port : config.port
  const prepareTls = async (next: ListenerConfig): Promise<() => void> => {
    if (next.type !== 'tls' && next.type !== 'wss' && next.type !== 'https') return () => {}
    const opts = await loadTlsOptions(next)
    checkTlsContext(next, opts) // a key that does not fit its certificate fails here, not in the swap
    return () => { (server as unknown as { setSecureContext: (o: SecureContextOptions) => void }).setSecureContext(opts) }
  }
  return {
    config,
    address: { host: config.host, port },
    close: async (graceMs = 0) => {
      // net.Server.close only stops accepting; it calls back once every
      // connection has ended, so the connections are ended here.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      if (graceMs > 0 && sockets.size > 0) {
        await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, graceMs).unref())])
      }
      for (const socket of sockets) socket.destroy()
      await closed
    },
    reloadTls: async (next) => { (await prepareTls(next))() },
    prepareTls
  }
}

/**
 * The server of an http/https listener. Every request is bounded: the header
 * block (maxHeaderSize, 431 beyond), the time to send it and the whole request
 * (requestTimeout), and the connections idle between requests; the per-IP
 * request rate is the request handler's.
 */
function startHttpServer (config: ListenerConfig, tls: Awaited<ReturnType<typeof loadTlsOptions>> | undefined, handlers: ListenerHandlers, track: (socket: Socket) => void, gate: (raw: Socket) => void): HttpServer {
  const requestTimeout = (config.requestTimeout as number | undefined) ?? 10_000
  const options = { maxHeaderSize: (config.maxHeaderSize as number | undefined) ?? 8192, requestTimeout, headersTimeout: requestTimeout, keepAliveTimeout: 5_000, connectionsCheckingInterval: Math.min(1_000, requestTimeout) }
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    if (handlers.request === undefined) { res.writeHead(404).end(); return }
    handlers.request(req, res)
  }
  const server = config.type === 'https' ? loadBuiltin<typeof import('node:https')>('node:https').createServer({ ...tls, ...options }, onRequest) : loadBuiltin<typeof import('node:http')>('node:http').createServer(options, onRequest)
  server.maxHeadersCount = 64
  // A peer that stops reading our answer cannot hold the socket forever.
  server.setTimeout(requestTimeout * 3)
  server.on('connection', (socket: Socket) => { track(socket); gate(socket) })
  if (config.type === 'https') server.on('tlsClientError', () => {})
  // A bad or oversized request gets its status line, then the socket closes.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request'
    if (!socket.writable) { socket.destroy(); return }
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`, () => { socket.destroy() })
  })
  return server
}

/** "::ffff:10.0.0.1" → "10.0.0.1", so IP rules and bans see one form. */
export function normalizeIp (ip: string | undefined): string {
  if (ip === undefined) return ''
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip
}
