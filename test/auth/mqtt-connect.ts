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
    const fail = (message: string, code: number): void => { clearTimeout(timer); c.end(true); reject(Object.assign(new Error(message), { code })) }
    const timer = setTimeout(() => fail('timed out', -3), timeoutMs)
    c.once('connect', () => { clearTimeout(timer); resolve(c) })
    c.once('error', (err: Error & { code?: number | string }) => fail(err.message, typeof err.code === 'number' ? err.code : -1))
    c.once('close', () => fail('closed before CONNACK', -2))
  })
}
