// The configuration files the harness writes for each broker. Both are made
// as equal as the brokers allow: loopback listener, anonymous access, no
// connection limit below the scenario's needs, quiet logs (logging 10k
// connects costs a broker real time), and the same inflight window.

/** What a scenario asks of the broker it runs against. */
export interface BrokerSettings {
  port: number
  /** Keep sessions and queued messages on disk across a restart. */
  persistence: boolean
  /** Directory for the broker's data (persistence) and config files; created by the caller. */
  dir: string
  /** Outgoing QoS 1 window per client: the board profile's limits.maxInflight. */
  maxInflight: number
  /** A password file in the broker's own format (made by its own tool); clients must log in. */
  passwordFile?: string
}

/** Mosquitto's autosave_interval, left at its default: it saves its database this often, and on exit. */
export const MOSQUITTO_AUTOSAVE_INTERVAL_S = 1800

/**
 * mosquitto.conf for one run. `max_queued_messages 1000000`: Mosquitto 2.0.11
 * drops QoS 1 messages in fan-in with its default queue of 1000 (an inflight
 * accounting bug fixed upstream later); the harness's own send window keeps
 * the real queue far below that, so the high limit only removes the bug.
 */
export function renderMosquittoConfig (settings: BrokerSettings): string {
  const lines = [
    '# written by test/bench (edgemq benchmark); one run, deleted afterwards',
    `listener ${settings.port} 127.0.0.1`,
    'allow_anonymous true',
    'max_connections -1',
    `max_inflight_messages ${settings.maxInflight}`,
    'max_queued_messages 1000000',
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    'connection_messages false',
    // Run as the harness's user: the persistence directory is a private temp dir.
    'user root'
  ]
  if (settings.passwordFile !== undefined) {
    lines[2] = 'allow_anonymous false'
    lines.push(`password_file ${settings.passwordFile}`)
  }
  if (settings.persistence) {
    // autosave_interval stays at its default (MOSQUITTO_AUTOSAVE_INTERVAL_S): the database is written on exit.
    lines.push('persistence true', `persistence_location ${settings.dir}/`, 'persistence_file mosquitto.db')
  } else {
    lines.push('persistence false')
  }
  return lines.join('\n') + '\n'
}

/** edgemq YAML for one run; the board profile supplies heap flags and limits. */
export function renderEdgemqConfig (settings: BrokerSettings, board: string): string {
  return [
    '# written by test/bench (edgemq benchmark); one run, deleted afterwards',
    `board: ${board}`,
    'listeners:',
    `  - { name: bench, type: tcp, host: 127.0.0.1, port: ${settings.port} }`,
    `persistence: { path: ${JSON.stringify(settings.dir + '/data')}, sync: batch }`,
    'limits: { maxConnections: 20000 }',
    'logging: { level: warn }',
    ...(settings.passwordFile === undefined ? [] : [`auth: { passwordFile: ${JSON.stringify(settings.passwordFile)} }`]),
    ''
  ].join('\n')
}
