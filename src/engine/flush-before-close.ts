// Override: conn.destroy() of a client's connection.
// What aedes does: ends a connection with conn.destroy() one setImmediate
//   after writing a server DISCONNECT (0x81, 0x82, 0x8E, 0x94, 0x95 ...);
//   destroy() drops what is still buffered, so the client often saw a bare
//   close instead of the reason code (measured: 2 of 10 without parts, 8 of
//   10 with them).
// What edgemq does instead: a destroy without an error ends the stream
//   (flushing the DISCONNECT) and destroys it once flushed, or after
//   FLUSH_TIMEOUT_MS for a peer that does not read. Until then what the peer
//   sends is read and dropped: closing a socket with unread input sends a RST,
//   which can make the peer drop the DISCONNECT it has not read yet.
// Canary: test/engine/v5-shim-internals.test.ts (aedes closes with
//   conn.destroy() after a DISCONNECT).
import type { Duplex } from 'node:stream'
import { noop } from './v5-shim-context.ts'

/** How long a closing connection may take to flush its last packet. */
export const FLUSH_TIMEOUT_MS = 2000

/**
 * Makes an error-free destroy() of `conn` flush what is written first. The
 * replacement is one shared function calling the stream's own class method
 * (no bound copy and closure per connection, issue 10); a stream whose
 * destroy() was already replaced on the instance keeps it behind a wrapper.
 */
export function flushBeforeClose (conn: Duplex): void {
  if (Object.hasOwn(conn, 'destroy')) {
    const destroy = conn.destroy.bind(conn)
    conn.destroy = function gracefulDestroy (err?: Error): Duplex { return closeGracefully(conn, destroy, err) }
    return
  }
  conn.destroy = gracefulDestroy
}

function gracefulDestroy (this: Duplex, err?: Error): Duplex {
  const conn = this
  const destroy = (e?: Error): Duplex => (Object.getPrototypeOf(conn).destroy as Duplex['destroy']).call(conn, e)
  return closeGracefully(conn, destroy, err)
}

function closeGracefully (conn: Duplex, destroy: (err?: Error) => Duplex, err?: Error): Duplex {
  if (err !== undefined && err !== null) return destroy(err)
  if (conn.destroyed || conn.writableEnded) return destroy()
  conn.removeAllListeners('readable')
  conn.removeAllListeners('data')
  conn.on('data', noop)
  conn.resume()
  conn.end()
  conn.once('end', () => { destroy() })
  // Cleared on close: a pending timer would keep the closed socket (and its
  // client) alive for FLUSH_TIMEOUT_MS, long enough to reach old space.
  const timer = setTimeout(() => { destroy() }, FLUSH_TIMEOUT_MS).unref()
  conn.once('close', () => { clearTimeout(timer) })
  return conn
}
