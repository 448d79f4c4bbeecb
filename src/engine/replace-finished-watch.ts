// Override: how an aedes client learns that its connection is gone.
// What aedes 2.0.0-beta.1 does: its Client constructor calls Node's
//   stream.finished(conn, this.close.bind(this)) and keeps the returned
//   cleanup as client._eos (close() calls it). finished() puts seven listeners
//   on the stream ('end', 'finish', 'error', 'close', 'request', ...), each a
//   closure over one shared context, plus the bound close: ~0.6 KiB per
//   connection in a heap snapshot of 2,000 idle ones.
// What edgemq does instead: right after aedes builds the client, calls
//   client._eos() (finished()'s own cleanup: its listeners go), makes _eos a
//   no-op, and has the stream's 'close' call client.close() through one
//   function shared by every connection (it finds the client as conn.client,
//   which aedes sets). Nothing that closed a client before is lost: every way
//   finished() reports a socket or a WebSocket stream done (end, error,
//   premature close) either ends in the stream's 'close' or is handled by
//   aedes's own listeners ('end' -> close(), 'error' -> _onError -> close()).
//   close() of a closed client does nothing, so a second call is harmless.
// Canary: test/engine/replace-finished-watch.test.ts (_eos removes
//   finished()'s listeners; a client whose peer goes away is closed; conn.client).
import type { Duplex } from 'node:stream'
import { noop } from './v5-shim-context.ts'

/** The aedes client members this override uses. */
interface WatchedClient {
  conn: Duplex
  _eos: () => void
  close: () => void
}

/** Replaces aedes's stream.finished() watch of one client by a shared 'close' listener. */
export function replaceFinishedWatch (client: WatchedClient): void {
  if (typeof client._eos !== 'function' || (client.conn as Duplex & { client?: unknown }).client !== client) return
  client._eos()
  client._eos = noop
  client.conn.on('close', closeClientOfStream)
}

function closeClientOfStream (this: Duplex & { client?: { close: () => void } }): void {
  this.client?.close()
}
