// Override: aedes's authenticate step, for a v5 Clean Start 0 with Session
// Expiry 0.
// What aedes does: marks such a client `clean` before replaying its stored
//   queue, and so drops every queued message.
// What edgemq does instead: [MQTT-3.1.2-5] Clean Start 0 resumes the stored
//   session even when the new Session Expiry Interval is 0 (the session then
//   ends with this connection): `clean` stays false until the replay is done
//   (the client's 'connected' event). Only when there is a stored session to
//   resume: a Session Expiry 0 session ends when its connection closes, and
//   aedes clears its queue then without waiting (_wipeSession); a Clean Start
//   0 reconnect right after it found that queue still being cleared and was
//   sent a message of the ended session, with Session Present 0 (found by the
//   model-based test). With no session stored it stays clean, so aedes drops
//   what is left of the old queue instead of sending it.
// Canary: test/engine/v5-shim-internals.test.ts (authenticate is called with
//   the client, which has _cleanStart and clean, before 'connected').
import type { V5ShimContext } from './v5-shim-context.ts'

/** Wraps broker.authenticate so a resumed v5 session keeps its queue. */
export function keepSessionOnCleanStart (ctx: V5ShimContext): void {
  const broker = ctx.broker
  const authenticate = broker.authenticate.bind(broker)
  broker.authenticate = (client, username, password, done) => {
    if (client.version === 5 && client._cleanStart === false && client.clean && (client.id === null || (ctx.hasSession?.(client.id) ?? true))) {
      client.clean = false
      client.once('connected', () => { client.clean = true })
    }
    authenticate(client, username, password, done)
  }
}
