// src/engine/flush-before-close.ts on real loopback sockets: a destroy()
// without an error sends what was written before the close, and once the
// connection has closed nothing of the graceful close keeps it alive (its
// fallback timer held every closed socket, and the client behind it, for
// FLUSH_TIMEOUT_MS: 500 sessions set up in a row left about 3 MiB of closed
// connections for the old space to collect).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createServer, connect, type Server, type Socket } from 'node:net'
import { once } from 'node:events'
import { flushBeforeClose } from '../../src/engine/flush-before-close.ts'
import { fullGc } from '../../src/core/full-gc.ts'

interface Pair { server: Server, client: Socket }

/** A listening server and a client connected to it; `onConnection` gets the server's side. */
async function pair (onConnection: (conn: Socket) => void): Promise<Pair> {
  const server = createServer(onConnection)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  const client = connect(address.port, '127.0.0.1')
  await once(client, 'connect')
  return { server, client }
}

function closeAll ({ server, client }: Pair): void {
  client.destroy()
  server.close()
}

test('a destroy() without an error delivers the last write before the close', async () => {
  const last = Buffer.alloc(256 * 1024, 0xe0)
  let closed: Promise<unknown> = Promise.resolve()
  const sockets = await pair((conn) => {
    flushBeforeClose(conn)
    closed = once(conn, 'close')
    conn.write(last)
    conn.destroy()
  })
  try {
    const received: Buffer[] = []
    sockets.client.on('data', (chunk: Buffer) => received.push(chunk))
    await once(sockets.client, 'end')
    sockets.client.end()
    await closed
    assert.is(Buffer.concat(received).length, last.length, 'the peer got less than was written before destroy()')
  } finally {
    closeAll(sockets)
  }
})

test('a closed connection is not kept alive by the graceful close', async () => {
  let ref: WeakRef<Socket> | undefined
  let closed: Promise<unknown> = Promise.resolve()
  const sockets = await pair((conn) => {
    ref = new WeakRef(conn)
    flushBeforeClose(conn)
    closed = once(conn, 'close').then(() => undefined)
    conn.destroy()
  })
  try {
    await once(sockets.client, 'end')
    sockets.client.end()
    await closed
    assert.ok(ref?.deref()?.destroyed, 'the connection did not close')
    // a WeakRef's target is kept until the end of the job that last read it
    await new Promise((resolve) => setImmediate(resolve))
    assert.is(fullGc(), true, 'this Node gave no gc function')
    assert.is(ref?.deref(), undefined, 'the closed connection is still reachable (a pending timer?)')
  } finally {
    closeAll(sockets)
  }
})

test.run()
