// Topic rules of a bridge: which local topics go up, which remote topics come
// down, and how their prefixes are rewritten. Mosquitto's
// `topic <pattern> <in|out|both> <qos> <local-prefix> <remote-prefix>` maps
// one to one onto a rule here. Pure functions: no I/O, no state.

/** Which way a rule carries messages. */
export type BridgeDirection = 'in' | 'out' | 'both'

/** What happens to the retain flag of a bridged message. */
export type RetainHandling = 'keep' | 'clear'

/** One topic rule, validated. */
export interface TopicRule {
  /** Topic filter, relative to the prefixes (may hold + and #). */
  filter: string
  direction: BridgeDirection
  /** QoS used upstream (out) and for the remote subscription (in). */
  qos: 0 | 1 | 2
  /** Prepended to `filter` on the local broker. */
  localPrefix: string
  /** Prepended to `filter` on the upstream broker. */
  remotePrefix: string
  /** keep: forward the retain flag as published; clear: always forward with retain false. */
  retain: RetainHandling
}

/** Whether `topic` matches the MQTT topic filter `filter` [MQTT-4.7.1]. */
export function matchTopic (filter: string, topic: string): boolean {
  // [MQTT-4.7.2-1] a filter starting with a wildcard does not match topics starting with $.
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false
  const f = filter.split('/')
  const t = topic.split('/')
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true // [MQTT-4.7.1-2] # matches the parent level and any below it
    if (i >= t.length) return false
    if (f[i] !== '+' && f[i] !== t[i]) return false
  }
  return f.length === t.length
}

/** Problem with a topic filter as a sentence, or undefined when it is valid [MQTT-4.7.1-2, 4.7.1-3]. */
export function checkTopicFilter (filter: string): string | undefined {
  if (filter.length === 0) return 'must not be empty'
  if (filter.includes('\u0000')) return 'must not contain NUL'
  const levels = filter.split('/')
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) return 'may use # only as a whole last level (sensors/#)'
    if (level.includes('+') && level !== '+') return 'may use + only as a whole level (sensors/+/temp)'
  }
  return undefined
}

/** Problem with a prefix, or undefined: prefixes are topic names, so no wildcards. */
export function checkTopicPrefix (prefix: string): string | undefined {
  if (prefix.includes('+') || prefix.includes('#')) return 'must not contain + or # (a prefix is prepended to topics, not matched)'
  if (prefix.includes('\u0000')) return 'must not contain NUL'
  return undefined
}

/** The filter a rule matches on the local broker. */
export function localFilter (rule: TopicRule): string {
  return rule.localPrefix + rule.filter
}

/** The filter a rule subscribes to on the upstream broker. */
export function remoteFilter (rule: TopicRule): string {
  return rule.remotePrefix + rule.filter
}

/** The first outbound rule (out or both) matching a local topic, in config order; undefined when none does. */
export function findOutboundRule (rules: readonly TopicRule[], localTopic: string): TopicRule | undefined {
  for (const rule of rules) {
    if (rule.direction === 'in') continue
    if (!localTopic.startsWith(rule.localPrefix)) continue
    if (matchTopic(rule.filter, localTopic.slice(rule.localPrefix.length))) return rule
  }
  return undefined
}

/** The first inbound rule (in or both) matching a remote topic; undefined when none does. */
export function findInboundRule (rules: readonly TopicRule[], remoteTopic: string): TopicRule | undefined {
  for (const rule of rules) {
    if (rule.direction === 'out') continue
    if (!remoteTopic.startsWith(rule.remotePrefix)) continue
    if (matchTopic(rule.filter, remoteTopic.slice(rule.remotePrefix.length))) return rule
  }
  return undefined
}

/** The upstream topic of a local topic under `rule` (which must match it). */
export function toRemoteTopic (rule: TopicRule, localTopic: string): string {
  return rule.remotePrefix + localTopic.slice(rule.localPrefix.length)
}

/** The local topic of an upstream topic under `rule` (which must match it). */
export function toLocalTopic (rule: TopicRule, remoteTopic: string): string {
  return rule.localPrefix + remoteTopic.slice(rule.remotePrefix.length)
}
