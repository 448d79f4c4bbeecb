// Checks on parsed PUBLISH / SUBSCRIBE / UNSUBSCRIBE packets that mqtt-packet
// and aedes 2.0.0-beta.1 do not make before acting on them (issue 9; found by
// the differential tests against Mosquitto). Pure: no aedes, no mqtt-packet.
import type { AckProblem } from './ack-packet-checks.ts'

/** Whether a topic filter is well formed [MQTT-4.7.1-1] [MQTT-4.7.1-2] [MQTT-4.7.3-1]. */
export function isValidFilter (filter: string): boolean {
  if (filter.length === 0) return false
  const levels = filter.split('/')
  for (let i = 0; i < levels.length; i++) {
    const l = levels[i]
    if (l.includes('#') && (l !== '#' || i !== levels.length - 1)) return false // # alone, and last
    if (l.includes('+') && l !== '+') return false // + alone in its level
  }
  return true
}

/** A problem that must close the connection, or undefined. */
export function checkRequestPacket (packet: { cmd: string, qos?: number, messageId?: unknown, subscriptions?: Array<{ topic?: unknown }>, unsubscriptions?: unknown[] }, protocolVersion: number): AckProblem | undefined {
  switch (packet.cmd) {
    case 'publish':
      // [MQTT-2.3.1-1] a QoS 1/2 PUBLISH carries a non-zero packet identifier
      if ((packet.qos ?? 0) > 0 && packet.messageId === 0) return { reasonCode: 0x81, reason: 'QoS > 0 PUBLISH with packet identifier 0' }
      return undefined
    case 'unsubscribe':
      // [MQTT-3.10.3-2] at least one topic filter
      if ((packet.unsubscriptions?.length ?? 0) === 0) return { reasonCode: 0x82, reason: 'UNSUBSCRIBE with no topic filter' }
      return undefined
    case 'subscribe':
      // [MQTT-3.8.3-3] at least one topic filter
      if ((packet.subscriptions?.length ?? 0) === 0) return { reasonCode: 0x82, reason: 'SUBSCRIBE with no topic filter' }
      // v5: a filter that breaks the wildcard rules makes the packet malformed
      // (MQTT 5.0 §4.7.1, DISCONNECT 0x81); $share filters are checked where
      // shared subscriptions are served (a bad share name gets SUBACK 0x8F)
      if (protocolVersion === 5 && packet.subscriptions?.some((s) => typeof s.topic === 'string' && !s.topic.startsWith('$share/') && !isValidFilter(s.topic)) === true) return { reasonCode: 0x81, reason: 'SUBSCRIBE with a malformed topic filter' }
      return undefined
    default:
      return undefined
  }
}
