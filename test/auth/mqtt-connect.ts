// Test helper: connect with MQTT.js and settle on CONNACK, refusal or a
// closed socket (MQTT.js alone never settles when the broker closes the
// socket before CONNACK, which is what a ban does).
import { connect, type IClientOptions, type MqttClient } from 'mqtt'

/** Error of a connection that did not get in: `code` is the CONNACK code, or -2 when closed without CONNACK. */
export type ConnectFailure = Error & { code: number }

/** Connects or rejects with { code }. */
export async function connectClient (url: string, opts: IClientOptions = {}, timeoutMs = 5000): Promise<MqttClient> {
  const c = connect(url, { reconnectPeriod: 0, connectTimeout: timeoutMs, ...opts })
  return await new Promise((resolve, reject) => {
    const onError = (err: Error & { code?: number | string }): void => { fail(err.message, typeof err.code === 'number' ? err.code : -1) }
    const onClose = (): void => { fail('closed before CONNACK', -2) }
    const settle = (): void => { clearTimeout(timer); c.off('error', onError); c.off('close', onClose) }
    const fail = (message: string, code: number): void => { settle(); c.end(true); reject(Object.assign(new Error(message), { code })) }
    const timer = setTimeout(() => fail('timed out', -3), timeoutMs)
    c.once('connect', () => { settle(); c.on('error', () => {}); resolve(c) })
    c.once('error', onError)
    c.once('close', onClose)
  })
}

/** The topics `c` receives from now on, in order of arrival (the array fills as messages come). */
export function collectTopics (c: MqttClient): string[] {
  const got: string[] = []
  c.on('message', (topic) => got.push(topic))
  return got
}
