// Closes one connection for a malformed packet, through aedes's own paths: a
// connected v5 client (CONNACK sent) gets DISCONNECT with the problem's code
// first (0x81 malformed, 0x82 protocol error: reasonCodeOfProblem)
// [MQTT-4.13.1-1]; otherwise the client's 'error' event, on which aedes closes
// it. Reading stops first (client.pause) so nothing after the broken packet is
// parsed.
// Canary: test/engine/v5-shim-internals.test.ts (pause, disconnect, connackSent, the error path).
import { reasonCodeOfProblem } from '../protocol/v5-packet-checks.ts'
import type { ShimmedClient, V5ShimContext } from './v5-shim-context.ts'

/** Counts, logs and closes a connection that sent a malformed packet. */
export function closeMalformed (ctx: V5ShimContext, client: ShimmedClient, reason: string): void {
  ctx.counters.malformedClosed++
  ctx.onMalformed?.({ clientId: client.id, reason })
  ctx.log?.info('connection closed: malformed packet', { client: client.id ?? undefined, reason })
  client.pause() // stop parsing what follows a broken packet
  if (client.version === 5 && client.connackSent && !client.closed) {
    client.disconnect({ reasonCode: reasonCodeOfProblem(reason) })
  } else {
    client.emit('error', new Error(reason))
  }
}
