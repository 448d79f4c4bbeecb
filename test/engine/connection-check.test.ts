// Canary for the connection check create-engine.ts gives the store
// (Store.setConnectionCheck): on the pinned aedes, a DISCONNECT destroys the
// client's socket at once, and the client stays in aedes.clients until its
// close has run (unregisterClient, in the close's last step), so a client
// whose socket is closed can still be listed; the check reads `clients[id]`
// and `client.conn.destroyed`.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { packageDir } from './pinned-aedes.ts'

const aedesDir = packageDir('aedes')
const source = (file: string): string => readFileSync(join(aedesDir, file), 'utf8')

test('aedes: DISCONNECT destroys the socket before the client\'s close unregisters it', () => {
  const handlers = source('lib/handlers/index.js')
  assert.match(handlers, /case 'disconnect':[\s\S]*?client\.conn\.destroy\(\)\s*done\(\)\s*return/)
  const client = source('lib/client.js')
  assert.match(client, /if \(that\.broker\.clients\[that\.id\] && that\._authorized\) \{\s*that\.broker\.unregisterClient\(that\)/)
  assert.match(client, /handleUnsubscribe\(\s*this,[\s\S]*?finish\)/, 'the close unregisters after its unsubscribes (asynchronous)')
})

test('aedes: the broker keeps its clients by id in `clients`, each with its socket as `conn`', () => {
  const aedes = source('aedes.js')
  assert.match(aedes, /this\.clients = \{\}/)
  assert.match(aedes, /this\.clients\[client\.id\] = client/)
  assert.match(source('lib/client.js'), /this\.conn = conn/)
})

test.run()
