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

/**
 * Socket controls for the parts; v5 clients hear the reason before the close.
 * A class: its methods are shared by every connection (seven closures and
 * their context per connection were ~0.5 KiB of each idle one, issue 10).
 */
export function connectionControls (client: object, conn: Pick<IncomingConnection, 'socket' | 'stream'>): ClientConnection {
  return new ConnectionControls(client as ClosableClient, conn.socket, conn.stream)
}

class ConnectionControls implements ClientConnection {
  readonly #client: ClosableClient
  readonly #socket: IncomingConnection['socket']
  readonly #stream: IncomingConnection['stream']

  constructor (client: ClosableClient, socket: IncomingConnection['socket'], stream: IncomingConnection['stream']) {
    this.#client = client
    this.#socket = socket
    this.#stream = stream
  }

  pause (): void { this.#socket.pause() }
  resume (): void { this.#socket.resume() }
  bytesRead (): number { return this.#socket.bytesRead }
  bytesWritten (): number { return this.#socket.bytesWritten }
  pendingWrite (): number { return this.#socket.writableLength + (this.#stream === this.#socket ? 0 : this.#stream.writableLength) }
  isOpen (): boolean { return !this.#socket.destroyed }

  close (reasonCode: number, reason: string): void {
    const c = this.#client
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
