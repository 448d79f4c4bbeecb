// Fields of one entry of `listeners:`.
import type { OptionSpec } from '../config/option-spec.ts'
import { checkCidrList } from './ip-filter.ts'

const hostCheck = (v: unknown): string | undefined =>
  typeof v === 'string' && v.length > 0 ? undefined : 'must be an address such as 127.0.0.1, ::1 or 0.0.0.0'

/** The field table of a listener. */
export const LISTENER_FIELDS: readonly OptionSpec[] = [
  { key: 'name', type: 'string', reload: 'listener', doc: 'Name used in logs and metrics', reason: 'defaults to "<type>-<port>"' },
  { key: 'type', type: 'enum', values: ['tcp', 'tls', 'ws', 'wss', 'http', 'https'], default: 'tcp', reload: 'listener', doc: 'Transport: MQTT over tcp, tls, ws, wss; or http/https for metrics, health, the JSON API and the status page (docs/observability.md)', reason: 'plain MQTT over TCP' },
  { key: 'host', type: 'string', default: '127.0.0.1', reload: 'listener', doc: 'Bind address', reason: 'loopback unless the config says otherwise', check: hostCheck },
  { key: 'port', type: 'int', min: 0, max: 65_535, reload: 'listener', doc: 'Port (0 = any free port)', reason: '1883 tcp, 8883 tls, 8080 ws, 8081 wss, 9883 http, 9884 https when unset' },
  { key: 'path', type: 'string', default: '/mqtt', reload: 'listener', doc: 'HTTP path of a ws/wss listener', reason: 'the path MQTT.js and paho use' },
  { key: 'cert', type: 'path', reload: 'listener', doc: 'PEM certificate chain (tls, wss, https)', reason: 'required for tls, wss and https' },
  { key: 'key', type: 'path', reload: 'listener', doc: 'PEM private key (tls, wss, https)', reason: 'required for tls, wss and https' },
  { key: 'ca', type: 'path', reload: 'listener', doc: 'PEM CA bundle that client certificates must chain to', reason: 'needed to verify client certificates' },
  { key: 'minVersion', type: 'enum', values: ['TLSv1.2', 'TLSv1.3'], default: 'TLSv1.2', reload: 'listener', doc: 'Lowest TLS version', reason: 'TLS 1.0/1.1 are deprecated (RFC 8996)' },
  { key: 'requestCertificate', type: 'bool', default: false, reload: 'listener', doc: 'Ask clients for a certificate (verified against ca)', reason: 'off: most sensors cannot do client certificates' },
  { key: 'requireCertificate', type: 'bool', default: false, reload: 'listener', doc: 'Refuse clients without a valid certificate', reason: 'mutual TLS is opt-in per listener' },
  { key: 'allowAnonymous', type: 'bool', reload: 'listener', doc: 'Let clients connect without credentials', reason: 'default: true on loopback, false on any other address' },
  { key: 'maxConnections', type: 'int', min: 1, reload: 'listener', doc: 'Most connections on this listener', reason: 'unset: only limits.maxConnections applies' },
  // security (src/auth): IP rules, per-IP caps, PROXY protocol, client-certificate identity
  { key: 'allow', type: 'cidr[]', reload: 'live', check: checkCidrList, doc: 'Only these CIDR ranges may connect (IPv4 and IPv6)', reason: 'unset: any address not denied' },
  { key: 'deny', type: 'cidr[]', reload: 'live', check: checkCidrList, doc: 'These CIDR ranges are refused (wins over allow)', reason: 'unset: none' },
  { key: 'maxConnectionsPerIp', type: 'int', unit: 'connections', min: 1, reload: 'live', doc: 'Most MQTT clients connected at once from one IP', reason: 'unset: no per-IP cap (NAT puts many devices behind one IP)' },
  { key: 'connectionRate', type: 'number', unit: 'connections/s', min: 0.01, reload: 'live', doc: 'New connections per second from one IP (burst: connectionBurst)', reason: 'unset: no rate limit; a reconnect storm from one IP costs a TLS handshake and a hash each' },
  { key: 'connectionBurst', type: 'int', unit: 'connections', default: 10, min: 1, reload: 'live', doc: 'Connections from one IP allowed in a burst above connectionRate', reason: 'devices behind one NAT reconnect together after a network blip' },
  { key: 'proxyProtocol', type: 'bool', default: false, reload: 'listener', doc: 'Expect a PROXY protocol v1/v2 header (listener behind a load balancer)', reason: 'off: a header from an untrusted peer would let it forge any source address' },
  { key: 'trustedProxies', type: 'cidr[]', default: [], reload: 'listener', check: checkCidrList, doc: 'Addresses allowed to send a PROXY header', reason: 'empty: with proxyProtocol on, every connection is refused until the balancer is listed' },
  { key: 'crl', type: 'path', reload: 'listener', doc: 'PEM certificate revocation list checked for client certificates', reason: 'unset: no revocation check (Mosquitto crlfile)' },
  { key: 'usernameFromCertificate', type: 'enum', values: ['off', 'cn', 'san'], default: 'off', reload: 'live', doc: 'Use the client certificate CN (or first SAN) as the user name', reason: 'off: the user name comes from CONNECT (Mosquitto use_identity_as_username)' },
  { key: 'requirePassword', type: 'bool', default: false, reload: 'live', doc: 'With usernameFromCertificate: also require the user\'s password (two factors)', reason: 'off: a verified certificate alone identifies the client' },
  // http/https listeners (src/observability/http-app.ts): who may read, and the bounds on every request
  { key: 'tokenFile', type: 'path', reload: 'listener', doc: 'http/https: file holding the bearer token (mode 0600) that may read every endpoint', reason: 'unset: no token; a Prometheus scraper sends Authorization: Bearer <token>' },
  { key: 'apiGroup', type: 'string', reload: 'listener', doc: 'http/https: ACL group whose users (password file) may read every endpoint with HTTP Basic', reason: 'unset: no Basic login; the same password verifier, queue and lockout as MQTT' },
  { key: 'openHealth', type: 'bool', reload: 'listener', doc: 'http/https: /health/live and /health/ready need no credentials', reason: 'default: true on loopback (the service manager and local probes), false on any other address' },
  { key: 'requestRate', type: 'number', unit: 'requests/s', default: 5, min: 0.01, reload: 'listener', doc: 'http/https: requests per second from one IP (burst: requestBurst); more get 429', reason: 'a scrape every 15 s and a status page refreshing every 5 s need far less; bounds password guessing over Basic' },
  { key: 'requestBurst', type: 'int', unit: 'requests', default: 20, min: 1, reload: 'listener', doc: 'http/https: requests from one IP allowed in a burst above requestRate', reason: 'the status page loads a page, a script, a style sheet and two API calls at once' },
  { key: 'requestTimeout', type: 'duration', unit: 'ms', default: '10s', min: 100, max: 300_000, reload: 'listener', doc: 'http/https: time a request has to arrive in full (headers and body)', reason: 'slowloris over HTTP: a connection trickling headers holds a socket' },
  { key: 'maxHeaderSize', type: 'size', unit: 'bytes', default: '8KB', min: 1024, max: 65_536, reload: 'listener', doc: 'http/https: largest request header block; larger gets 431', reason: 'Node\'s default is 16 KiB; a scraper or browser sends under 2 KiB' }
]
