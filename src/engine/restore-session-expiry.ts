// Extension: MQTT 5 Session Expiry across restarts and crashes.
// What aedes 2.0.0-beta.1 does: when a v5 client's connection closes it arms an
//   in-memory timer for the Session Expiry Interval (aedes.js
//   scheduleSessionExpiry), or wipes the session at once for an interval of 0;
//   while the broker closes it does neither (`if (this.closed) return`), and a
//   restart or kill -9 loses every timer. The session's subscriptions and queue
//   then stay on disk and are resumed, Session Present 1, however long ago the
//   interval passed: a resurrected session [MQTT-4.1.0-2] (found by the
//   model-based test, test/e2e/store-model.test.ts).
// What edgemq does as well: the session marker in the store keeps the
//   interval and the time the connection closed (clientDisconnect; a graceful
//   close stores it for clients still connected). At start, before the journal
//   replay and before any listener accepts, a session whose interval has
//   passed, or was 0, is ended (subscriptions, marker, queue, inflight state);
//   the others get a timer that ends them unless the client is back. A session
//   whose connection was open at a crash counts from the start (the broker
//   cannot know when it died: the session lives longer, never shorter), and
//   that start is stored, so a second crash does not restart its clock.
//   Uses aedes's public events ('client', 'clientDisconnect') and `clients`.
// Canary: test/engine/restore-session-expiry.test.ts.
import type { SessionStore } from '../store-contract.ts'

/** The aedes members this extension uses. */
interface ExpiryBroker {
  clients: Record<string, unknown>
  on: (event: 'client' | 'clientDisconnect', fn: (client: { id: string | null, version?: number, clean?: boolean, sessionExpiryInterval?: number }) => void) => unknown
}

// setTimeout holds at most 2^31-1 ms (24.8 days); longer waits are chained
const MAX_TIMER_MS = 2 ** 31 - 1

/** Ends or re-arms stored expiring sessions and keeps their close times; returns a stop() for the broker's close. */
export async function restoreSessionExpiry (aedes: unknown, sessions: Required<SessionStore>, onError: (err: Error) => void, now: () => number = Date.now): Promise<{ ended: number, armed: number, stop: () => void }> {
  const broker = aedes as ExpiryBroker
  const timers = new Map<string, NodeJS.Timeout>()
  const arm = (clientId: string, due: number): void => {
    const timer = setTimeout(() => {
      timers.delete(clientId)
      if (broker.clients[clientId] !== undefined) return // back: aedes owns its expiry again
      if (due > now()) { arm(clientId, due); return }
      sessions.endSession(clientId).catch(onError)
    }, Math.min(Math.max(0, due - now()), MAX_TIMER_MS))
    timer.unref()
    timers.set(clientId, timer)
  }
  broker.on('client', (client) => {
    if (client.id === null) return
    const timer = timers.get(client.id)
    if (timer !== undefined) { clearTimeout(timer); timers.delete(client.id) }
  })
  broker.on('clientDisconnect', (client) => {
    if (client.id === null || client.version !== 5 || client.clean === true) return
    const current = broker.clients[client.id]
    if (current !== undefined && current !== client) return // taken over: the session lives on
    sessions.sessionClosed(client.id, now()).catch(onError)
  })
  const started = now()
  let ended = 0
  for (const { clientId, expiry, closedAt } of sessions.sessionDeadlines()) {
    const due = (closedAt === 0 ? started : closedAt) + expiry * 1000
    if (expiry === 0 || due <= started) { await sessions.endSession(clientId); ended++; continue }
    // open at a crash: its clock starts now, and is stored, so another crash does not start it again
    if (closedAt === 0) await sessions.sessionClosed(clientId, started)
    arm(clientId, due)
  }
  return { ended, armed: timers.size, stop: () => { for (const t of timers.values()) clearTimeout(t); timers.clear() } }
}
