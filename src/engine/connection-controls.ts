// The socket controls a part gets for one client (src/broker-hooks.ts
// ClientConnection), built over the aedes client and the listener's socket.
// Uses aedes's client API (version, disconnect, close): a v5 client
// hears the reason code in a DISCONNECT before the close [MQTT-3.14.2-1]
// once it has its CONNACK.
// Canary: test/engine/connection-controls.test.ts.
import type { ClientConnection } from '../broker-hooks.ts'
import type { IncomingConnection } from '../listeners/start-listener.ts'

/** The parts of an aedes client used here. */
interface ClosableClient {
  version?: number | null
  disconnect?: (opts: { reasonCode: number, properties?: Record<string, unknown> }, cb: () => void) => void
  close: () => void
}

/** Socket controls for the parts; v5 clients hear the reason before the close. */
export function connectionControls (client: object, conn: Pick<IncomingConnection, 'socket' | 'stream'>): ClientConnection {
  const socket = conn.socket
  const c = client as ClosableClient
  return {
    pause: () => { socket.pause() },
    resume: () => { socket.resume() },
    bytesRead: () => socket.bytesRead,
    bytesWritten: () => socket.bytesWritten,
    pendingWrite: () => socket.writableLength + (conn.stream === socket ? 0 : conn.stream.writableLength),
    isOpen: () => !socket.destroyed,
    close: (reasonCode, reason) => {
      // Every v5 close goes through disconnect(): aedes sends the DISCONNECT
      // when the client is connected and only closes otherwise, and the
      // engine's shim sends it in the gap between CONNACK and `connected`
      // (aedes sets that only after replaying the stored queue).
      if (c.version === 5 && typeof c.disconnect === 'function') {
        c.disconnect({ reasonCode, properties: { reasonString: reason } }, () => { c.close() })
      } else {
        c.close()
      }
    }
  }
}
