// Dials one upstream address (TCP, TLS, WebSocket) and returns the byte
// stream MQTT.js runs over, behind the packet size guard. edgemq builds the
// stream itself instead of MQTT.js's builders so the guard sits below
// mqtt-packet's parser and TLS settings are exactly the configured ones.
import { connect as netConnect } from 'node:net'
import { loadBuiltin } from '../core/load-builtin.ts'
import type { Duplex } from 'node:stream'
import { WebSocket, createWebSocketStream } from 'ws'
import type { BridgeSecrets } from './bridge-config.ts'
import type { BridgeTls } from './bridge-sections.ts'
import { guardPacketSize } from './packet-size-guard.ts'

const DEFAULT_PORTS: Record<string, number> = { mqtt: 1883, tcp: 1883, mqtts: 8883, tls: 8883, ssl: 8883, ws: 80, wss: 443 }

/** Opens the transport to `url`; TLS verification is on unless tls.rejectUnauthorized is false. */
export function dialUpstream (url: string, tls: BridgeTls, secrets: BridgeSecrets, maxPacketSize: number): Duplex {
  const u = new URL(url)
  const scheme = u.protocol.replace(/:$/, '')
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1') // [::1] -> ::1
  const port = u.port === '' ? DEFAULT_PORTS[scheme] : Number(u.port)
  const tlsOptions = {
    ca: secrets.ca,
    cert: secrets.cert,
    key: secrets.key,
    servername: tls.servername ?? (/^[\d.:]+$/.test(host) ? undefined : host),
    rejectUnauthorized: tls.rejectUnauthorized,
    minVersion: tls.minVersion
  }
  let stream: Duplex
  if (scheme === 'ws' || scheme === 'wss') {
    // maxPayload: ws refuses a bigger frame before buffering it, the same bound as the guard.
    const ws = new WebSocket(url, ['mqtt'], { ...(scheme === 'wss' ? tlsOptions : {}), maxPayload: maxPacketSize, perMessageDeflate: false })
    stream = createWebSocketStream(ws)
  } else if (scheme === 'mqtts' || scheme === 'tls' || scheme === 'ssl') {
    stream = loadBuiltin<typeof import('node:tls')>('node:tls').connect({ host, port, ...tlsOptions })
  } else {
    stream = netConnect({ host, port })
    ;(stream as ReturnType<typeof netConnect>).setNoDelay(true)
  }
  return guardPacketSize(stream, maxPacketSize)
}
