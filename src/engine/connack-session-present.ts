// Override: the CONNACK's Session Present flag of a session without subscriptions.
// What aedes 2.0.0-beta.1 does: a session is only its subscriptions. On a
//   CONNECT with CleanSession 0 / Clean Start 0 it asks the persistence for the
//   client's subscriptions and sets Session Present = "there were some"
//   (lib/handlers/connect.js fetchSubs/restoreSubs): a persistent session that
//   never subscribed (a publisher with CleanSession 0, or one that
//   unsubscribed from everything) is answered Session Present 0, as if the
//   server had forgotten it [MQTT-3.2.2-2].
// What edgemq does instead: the persistence keeps a marker per persistent
//   session (src/persistence/level-persistence.ts rememberSession; the marker
//   goes when aedes ends the session through cleanSubscriptions). A client
//   whose session outlives its connection (aedes's `client.clean` false) is
//   remembered when aedes registers it ('client' event, which comes before the
//   CONNACK but after the old connection closes on a takeover: whether the
//   session existed is read before it is remembered); a CONNACK 0 with
//   Session Present 0 to a connection that did not ask for a clean start is
//   rewritten to Session Present 1 when the marker is there.
// Canary: test/engine/connack-session-present.test.ts.
import { watchWrittenPackets } from './watch-written-packets.ts'

/** Where persistent sessions are known. */
export interface SessionMarkers {
  hasSession: (clientId: string) => boolean
  /** `expiry`: the v5 Session Expiry Interval in s (absent: 3.1.1, never expires). */
  rememberSession: (clientId: string, expiry?: number) => Promise<void>
}

/** The aedes client members this override reads. */
interface SessionClient {
  id: string | null
  conn: object
  clean: boolean
  _cleanStart?: boolean
  version?: number
  sessionExpiryInterval?: number
}

interface Watched {
  client: SessionClient
  sessions: SessionMarkers
  /** Whether the session existed before this connection registered (and remembered) it. */
  hadSession?: boolean
}

/** The aedes client of each connection not yet answered with a CONNACK. */
const awaitingConnack = new WeakMap<object, Watched>()

/** Installs the override (before the first connection); `onError` hears a marker that could not be stored. */
export function installConnackSessionPresent (aedes: unknown, mqttPacket: unknown, sessions: SessionMarkers, onError: (err: Error) => void): void {
  watchWrittenPackets(mqttPacket, (packet, stream) => {
    if (packet.cmd !== 'connack') return true
    const watched = awaitingConnack.get(stream)
    if (watched === undefined) return true
    awaitingConnack.delete(stream)
    const { client } = watched
    const accepted = (packet.returnCode ?? packet.reasonCode ?? 0) === 0
    if (!accepted || packet.sessionPresent === true || client._cleanStart !== false || client.id === null) return true
    // aedes registers the client before its CONNACK, except when it takes over a connected one
    if (!(watched.hadSession ?? watched.sessions.hasSession(client.id))) return true
    return { ...packet, sessionPresent: true } // [MQTT-3.2.2-2]
  })
  const broker = aedes as { handle: (conn: unknown, req: unknown) => SessionClient, on: (event: string, fn: (client: SessionClient) => void) => void }
  const handle = broker.handle
  broker.handle = function handleSessionPresent (this: unknown, conn: unknown, req: unknown): SessionClient {
    const client = handle.call(this, conn, req)
    awaitingConnack.set(client.conn, { client, sessions })
    return client
  }
  broker.on('client', (client) => {
    if (client.id === null) return
    const watched = awaitingConnack.get(client.conn)
    if (watched !== undefined) watched.hadSession = sessions.hasSession(client.id)
    if (client.clean) return
    // a v5 Clean Start 0 / Session Expiry 0 resume is not clean until its replay
    // (keep-session-on-clean-start.ts): remembered with expiry 0, it ends with
    // this connection, at the next start if the broker stops first
    sessions.rememberSession(client.id, client.version === 5 ? client.sessionExpiryInterval ?? 0 : undefined).catch(onError)
  })
}
