// Checks aedes and mqtt-packet do not make: strings the spec forbids and
// lengths the config bounds. Each returns a problem, or undefined when fine.

interface TopicLimits { maxTopicLength: number, maxTopicLevels: number, maxClientIdLength?: number }

// [MQTT-1.5.4-2] U+0000 is never allowed; [MQTT-1.5.4-1] ill-formed UTF-8 closes
// the connection. mqtt-packet decodes ill-formed bytes to U+FFFD, so U+FFFD is
// refused as a stand-in (a literal U+FFFD in a topic is refused too). Control
// characters U+0001-U+001F and U+007F-U+009F are refused as Mosquitto does
// (CVE-2017-7653: they broke other clients).
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\ufffd]/

/**
 * A client id or user name the broker refuses at CONNACK (issue 14: these were
 * closed without the CONNACK the docs promise, and not counted toward a ban):
 * 0x85 client identifier not valid (3.1.1: 2) or 0x86 bad user name or
 * password (3.1.1: 4). The connection closes after the CONNACK [MQTT-3.2.2-7].
 */
export function checkConnectIdentity (packet: { clientId?: string, username?: string }, limits: { maxClientIdLength?: number }): { reasonCode: 0x85 | 0x86, reason: string } | undefined {
  if (packet.clientId !== undefined && FORBIDDEN.test(packet.clientId)) return { reasonCode: 0x85, reason: 'client id has a control character or ill-formed UTF-8' }
  if (limits.maxClientIdLength !== undefined && packet.clientId !== undefined && Buffer.byteLength(packet.clientId) > limits.maxClientIdLength) {
    return { reasonCode: 0x85, reason: `client id longer than limits.maxClientIdLength (${limits.maxClientIdLength} bytes)` }
  }
  if (packet.username !== undefined && FORBIDDEN.test(packet.username)) return { reasonCode: 0x86, reason: 'user name has a control character or ill-formed UTF-8' }
  return undefined
}

/** Problems in a CONNECT's client id, user name and will topic. */
export function checkConnectStrings (packet: { clientId?: string, username?: string, will?: { topic?: string } | null }, limits: TopicLimits): string | undefined {
  if (packet.clientId !== undefined && FORBIDDEN.test(packet.clientId)) return 'client id has a control character or ill-formed UTF-8'
  if (limits.maxClientIdLength !== undefined && packet.clientId !== undefined && Buffer.byteLength(packet.clientId) > limits.maxClientIdLength) return `client id longer than ${limits.maxClientIdLength} bytes`
  if (packet.username !== undefined && FORBIDDEN.test(packet.username)) return 'user name has a control character or ill-formed UTF-8'
  if (packet.will !== undefined && packet.will !== null && typeof packet.will.topic === 'string') return checkTopicName(packet.will.topic, limits)
  return undefined
}

/** Problems with a topic name in a PUBLISH or a will. */
export function checkTopicName (topic: unknown, limits: TopicLimits): string | undefined {
  if (typeof topic !== 'string' || topic.length === 0) return 'empty topic' // [MQTT-4.7.3-1]
  if (topic.includes('+') || topic.includes('#')) return 'wildcard in a topic name' // [MQTT-3.3.2-2]
  return checkCommon(topic, limits)
}

/** Problems with a topic filter in a SUBSCRIBE or UNSUBSCRIBE. */
export function checkTopicFilter (filter: unknown, limits: TopicLimits): string | undefined {
  if (typeof filter !== 'string' || filter.length === 0) return 'empty topic filter' // [MQTT-4.7.3-1]
  const levels = filter.split('/')
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]
    // [MQTT-4.7.1-2] '#' alone and last; [MQTT-4.7.1-3] '+' fills a whole level
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) return 'misplaced # in a topic filter'
    if (level.includes('+') && level !== '+') return 'misplaced + in a topic filter'
  }
  return checkCommon(filter, limits)
}

function checkCommon (topic: string, limits: TopicLimits): string | undefined {
  if (FORBIDDEN.test(topic)) return 'topic has a control character or ill-formed UTF-8'
  if (Buffer.byteLength(topic) > limits.maxTopicLength) return `topic longer than limits.maxTopicLength (${limits.maxTopicLength} bytes)`
  let levels = 1
  for (let i = 0; i < topic.length; i++) if (topic.charCodeAt(i) === 47) levels++
  if (levels > limits.maxTopicLevels) return `topic has more than limits.maxTopicLevels (${limits.maxTopicLevels}) levels`
  return undefined
}
