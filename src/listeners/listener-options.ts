// Fields of one entry of `listeners:`.
import type { OptionSpec } from '../config/option-spec.ts'

const hostCheck = (v: unknown): string | undefined =>
  typeof v === 'string' && v.length > 0 ? undefined : 'must be an address such as 127.0.0.1, ::1 or 0.0.0.0'

/** The field table of a listener. */
export const LISTENER_FIELDS: readonly OptionSpec[] = [
  { key: 'name', type: 'string', reload: 'listener', doc: 'Name used in logs and metrics', reason: 'defaults to "<type>-<port>"' },
  { key: 'type', type: 'enum', values: ['tcp', 'tls', 'ws', 'wss'], default: 'tcp', reload: 'listener', doc: 'Transport', reason: 'plain MQTT over TCP' },
  { key: 'host', type: 'string', default: '127.0.0.1', reload: 'listener', doc: 'Bind address', reason: 'loopback unless the config says otherwise', check: hostCheck },
  { key: 'port', type: 'int', min: 0, max: 65_535, reload: 'listener', doc: 'Port (0 = any free port)', reason: '1883 tcp, 8883 tls, 8080 ws, 8081 wss when unset' },
  { key: 'path', type: 'string', default: '/mqtt', reload: 'listener', doc: 'HTTP path of a ws/wss listener', reason: 'the path MQTT.js and paho use' },
  { key: 'cert', type: 'path', reload: 'listener', doc: 'PEM certificate chain (tls, wss)', reason: 'required for tls and wss' },
  { key: 'key', type: 'path', reload: 'listener', doc: 'PEM private key (tls, wss)', reason: 'required for tls and wss' },
  { key: 'ca', type: 'path', reload: 'listener', doc: 'PEM CA bundle that client certificates must chain to', reason: 'needed to verify client certificates' },
  { key: 'minVersion', type: 'enum', values: ['TLSv1.2', 'TLSv1.3'], default: 'TLSv1.2', reload: 'listener', doc: 'Lowest TLS version', reason: 'TLS 1.0/1.1 are deprecated (RFC 8996)' },
  { key: 'requestCertificate', type: 'bool', default: false, reload: 'listener', doc: 'Ask clients for a certificate (verified against ca)', reason: 'off: most sensors cannot do client certificates' },
  { key: 'requireCertificate', type: 'bool', default: false, reload: 'listener', doc: 'Refuse clients without a valid certificate', reason: 'mutual TLS is opt-in per listener' },
  { key: 'allowAnonymous', type: 'bool', reload: 'listener', doc: 'Let clients connect without credentials', reason: 'default: true on loopback, false on any other address' },
  { key: 'maxConnections', type: 'int', min: 1, reload: 'listener', doc: 'Most connections on this listener', reason: 'unset: only limits.maxConnections applies' }
]
