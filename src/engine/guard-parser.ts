// Override: the 'packet' and 'error' listeners of a client's parser
// (client._parser, mqtt-packet's parser, whose 'packet' listener is aedes's
// enqueue → handle).
// What aedes does: handles every parsed packet, and a throw inside its
//   handling (a malformed v5 property: a Response Topic without its string)
//   escaped the socket's 'readable' handler and killed the process; a parse
//   error closes the connection bare; a wildcard in a v5 topic name closes it
//   bare; shared subscriptions are refused; acknowledgements are not counted.
// What edgemq does instead, before aedes's own listener runs:
//   - a packet with ill-formed v5 properties or strings, or one whose handling
//     throws, closes only that connection (v5: DISCONNECT 0x81) [MQTT-4.13.1-1];
//   - a parse error from a connected v5 client gets 0x81 before the close;
//   - [MQTT-3.3.2-2] a wildcard in a v5 topic name gets DISCONNECT 0x90;
//   - PUBACK, PUBCOMP and failed PUBRECs free a Receive Maximum slot;
//   - SUBSCRIBE/UNSUBSCRIBE naming a shared subscription go to
//     serve-shared-subscriptions.ts, in aedes's batch order (_parsingBatch /
//     _nextBatch), after the CONNACK.
// The two listeners are shared by every client (they find it as the parser's
//   `client`, which aedes sets): a closure, a listener copy and a context per
//   connection fewer (issue 10).
// Canary: test/engine/v5-shim-internals.test.ts (_parser has one 'packet' and
//   an 'error' listener, and knows its client; _parsingBatch counts;
//   _nextBatch resumes reading).
import type { EventEmitter } from 'node:events'
import { checkPacketProperties, checkPacketStrings } from '../protocol/v5-packet-checks.ts'
import { isFailureCode, REASON } from '../reason-codes.ts'
import { closeMalformed } from './close-malformed.ts'
import { afterAck } from './outbound-flow.ts'
import { namesSharedFilter } from './serve-shared-subscriptions.ts'
import { callNext, putInFront } from './intercept-parsed-packets.ts'
import { SHIM, shimsOf, type AnyPacket, type ShimmedClient } from './v5-shim-context.ts'

/** aedes's own listeners, behind the guard (see intercept-parsed-packets.ts putInFront). */
const NEXT_PACKET = Symbol('edgemq.guardedPacketListeners')
const NEXT_ERROR = Symbol('edgemq.guardedErrorListeners')

type GuardedParser = EventEmitter & { client: ShimmedClient }

/**
 * Puts edgemq's checks in front of aedes's packet handling for one client.
 * The listeners are shared functions (they find the client as `this.client`,
 * aedes's back reference, and the shims' context on its broker): no closure per client.
 */
export function guardParser (client: ShimmedClient): void {
  putInFront(client._parser, NEXT_PACKET, guardPacket, NEXT_ERROR, guardParseError)
}

function guardPacket (this: GuardedParser, packet: AnyPacket): void {
  const client = this.client
  const { ctx, shares } = shimsOf(client)
  try {
    const problem = checkPacketProperties(packet) ?? checkPacketStrings(packet)
    if (problem !== undefined) { closeMalformed(ctx, client, problem); return }
    if (packet.cmd === 'publish' && client.version === 5 && typeof packet.topic === 'string' && (packet.topic.includes('+') || packet.topic.includes('#'))) {
      // [MQTT-3.3.2-2] a wildcard in a topic name: v5 hears 0x90 before the close
      // (aedes closed it bare); v3 clients keep aedes's plain close.
      ctx.log?.info('connection closed: wildcard in a topic name', { client: client.id ?? undefined })
      client.pause()
      client.disconnect({ reasonCode: REASON.TOPIC_NAME_INVALID })
      return
    }
    if (packet.cmd === 'puback' || packet.cmd === 'pubcomp' || (packet.cmd === 'pubrec' && isFailureCode(packet.reasonCode ?? 0))) {
      const state = client[SHIM]
      if (state !== undefined) afterAck(state)
    }
    if (namesSharedFilter(packet)) {
      client._parsingBatch++
      const run = (): void => {
        const step = packet.cmd === 'subscribe' ? shares.subscribe : shares.unsubscribe
        step(client, packet).then(() => client._nextBatch(), (err: Error) => client._nextBatch(err))
      }
      if (client.connackSent) run()
      else client.once('connected', run)
      return
    }
    callNext(this, NEXT_PACKET, packet)
  } catch (err) {
    // aedes threw while handling one packet: that connection ends, the process lives.
    closeMalformed(ctx, client, `packet handling failed: ${(err as Error).message}`)
  }
}

// A parse error from a connected v5 client gets 0x81 before the close [MQTT-4.13.1-1].
function guardParseError (this: GuardedParser, err: Error): void {
  const client = this.client
  if (client.version === 5 && client.connackSent && !client.closed) closeMalformed(shimsOf(client).ctx, client, err.message)
  else callNext(this, NEXT_ERROR, err)
}
