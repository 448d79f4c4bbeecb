// Options of the throttles (throttle.*): token buckets for inbound bytes/s and
// messages/s (global, per listener, per client, per group) and outbound
// bytes/s per client. All reload live, also through `edgemq ctl throttle.set`.
import type { OptionSpec } from '../config/option-spec.ts'
import { parseRates } from './throttle.ts'

const LISTENER_KEYS = ['inboundBytesPerSecond', 'inboundMessagesPerSecond', 'connectionRate', 'connectionBurst']

/** Checks throttle.groups: group name → per-client rates. */
function checkGroups (value: unknown): string | undefined {
  for (const [name, rates] of Object.entries(value as Record<string, unknown>)) {
    const r = parseRates(rates, `groups.${name}`)
    if (typeof r === 'string') return r
  }
  return undefined
}

/** Checks throttle.listeners: listener name → rates of the whole listener. */
function checkListeners (value: unknown): string | undefined {
  for (const [name, rates] of Object.entries(value as Record<string, unknown>)) {
    if (typeof rates !== 'object' || rates === null || Array.isArray(rates)) return `listeners.${name} must be a mapping of ${LISTENER_KEYS.join(', ')}`
    for (const [k, v] of Object.entries(rates)) {
      if (!LISTENER_KEYS.includes(k)) return `listeners.${name}.${k} is unknown: use ${LISTENER_KEYS.join(', ')}`
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) return `listeners.${name}.${k} must be a number >= 0 (0 = unlimited)`
    }
  }
  return undefined
}

/** throttle.* rows. */
export const THROTTLE_OPTIONS: readonly OptionSpec[] = [
  {
    key: 'throttle.global.inboundBytesPerSecond', type: 'size', unit: 'bytes/s', default: 0, min: 0, reload: 'live', board: true,
    doc: 'PUBLISH bytes/s the broker reads from all clients together (0 = unlimited)',
    reason: 'caps the write load on the SD card and CPU; the socket is paused, so TCP slows the senders instead of the broker buffering'
  },
  {
    key: 'throttle.global.inboundMessagesPerSecond', type: 'number', unit: 'messages/s', default: 0, min: 0, reload: 'live', board: true,
    doc: 'PUBLISH packets/s the broker reads from all clients together (0 = unlimited)',
    reason: 'per-message cost dominates for small sensor readings'
  },
  {
    key: 'throttle.client.inboundBytesPerSecond', type: 'size', unit: 'bytes/s', default: 0, min: 0, reload: 'live', board: true,
    doc: 'PUBLISH bytes/s read from one client (0 = unlimited; groups, auth overrides and ctl may set others)',
    reason: 'one misbehaving client must not take the broker\'s whole capacity (HiveMQ per-client throttling)'
  },
  {
    key: 'throttle.client.inboundMessagesPerSecond', type: 'number', unit: 'messages/s', default: 0, min: 0, reload: 'live', board: true,
    doc: 'PUBLISH packets/s read from one client (0 = unlimited)',
    reason: 'a flood of tiny messages costs CPU per message, not per byte'
  },
  {
    key: 'throttle.client.outboundBytesPerSecond', type: 'size', unit: 'bytes/s', default: 0, min: 0, reload: 'live', board: true,
    doc: 'Bytes/s delivered to one client; QoS 0 beyond is dropped and counted (QoS 1/2 is paced by the client\'s receive maximum)',
    reason: 'keeps one subscriber of a busy wildcard from filling the uplink'
  },
  {
    key: 'throttle.burstSeconds', type: 'number', unit: 's', default: 1, min: 0.05, max: 60, reload: 'live', board: true,
    doc: 'Bucket depth: seconds of rate a quiet client may send at once',
    reason: 'one second absorbs a sensor\'s burst after reconnecting without letting a flood through'
  },
  {
    key: 'throttle.groups', type: 'object', default: {}, reload: 'live', check: checkGroups,
    doc: 'Per-client rates for members of a group: { group: { inboundBytesPerSecond, inboundMessagesPerSecond, outboundBytesPerSecond } }; the first of a client\'s groups listed wins',
    reason: 'HiveMQ-style: sensors get a small rate, the dashboard a large one; the auth part sets the groups'
  },
  {
    key: 'throttle.listeners', type: 'object', default: {}, reload: 'live', check: checkListeners,
    doc: 'Rates of all clients of one listener together: { name: { inboundBytesPerSecond, inboundMessagesPerSecond, connectionRate, connectionBurst } }',
    reason: 'a public listener gets a budget, the loopback listener of local services none'
  }
]
