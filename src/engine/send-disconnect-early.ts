// Override: a client's rejectPacketTooLarge and disconnect, between CONNACK
// and `connected`.
// What aedes does: sets `connected` only after it has replayed the stored
//   queue, which follows the CONNACK; a packet that earns a DISCONNECT in that
//   window (a client may send right after CONNACK) got a bare close with no
//   reason code.
// What edgemq does instead: in that window the DISCONNECT is written (0x95 for
//   a packet too large [MQTT-3.2.2-15], or the reason asked for) and the
//   connection closed, as aedes does once connected.
// Canary: test/engine/v5-shim-internals.test.ts (rejectPacketTooLarge and
//   disconnect are methods of the client's prototype; _rejectingPacketTooLarge,
//   connackSent, connected).
import { REASON } from '../reason-codes.ts'
import type { ShimmedClient } from './v5-shim-context.ts'
import { writePacket } from './write-packet.ts'

type Reject = ShimmedClient['rejectPacketTooLarge']
type Disconnect = ShimmedClient['disconnect']

/**
 * Gives a v5 client its DISCONNECT in the gap between CONNACK and `connected`.
 * The two replacements are shared functions that call the client's class
 * methods (aedes defines both on Client.prototype): no bound copy and closure
 * per connection (issue 10). A client whose methods were already replaced on
 * the instance keeps them behind per-client wrappers.
 */
export function sendDisconnectEarly (client: ShimmedClient): void {
  if (Object.hasOwn(client, 'rejectPacketTooLarge') || Object.hasOwn(client, 'disconnect')) {
    wrapOwnMethods(client)
    return
  }
  client.rejectPacketTooLarge = rejectEarly
  client.disconnect = disconnectEarly
}

function inGap (client: ShimmedClient): boolean {
  return client.version === 5 && client.connackSent && !client.connected && !client.closed && !client.errored
}

function rejectEarly (this: ShimmedClient, size: number, done?: () => void): void {
  if (!rejectedInGap(this, size, done)) (Object.getPrototypeOf(this).rejectPacketTooLarge as Reject).call(this, size, done)
}

function disconnectEarly (this: ShimmedClient, opts: Parameters<Disconnect>[0], done?: () => void): void {
  if (!disconnectedInGap(this, opts, done)) (Object.getPrototypeOf(this).disconnect as Disconnect).call(this, opts, done)
}

function rejectedInGap (client: ShimmedClient, size: number, done?: () => void): boolean {
  if (client._rejectingPacketTooLarge || !inGap(client)) return false
  client._rejectingPacketTooLarge = true
  client.broker.emit('clientError', client, Object.assign(new Error('packet too large'), { size }))
  client.disconnect({ reasonCode: REASON.PACKET_TOO_LARGE }, done) // [MQTT-3.2.2-15]
  return true
}

function disconnectedInGap (client: ShimmedClient, opts: Parameters<Disconnect>[0], done?: () => void): boolean {
  if (!inGap(client)) return false
  writePacket(client, { cmd: 'disconnect', reasonCode: opts.reasonCode, ...(opts.properties === undefined ? {} : { properties: opts.properties }) })
  client.close(done)
  return true
}

function wrapOwnMethods (client: ShimmedClient): void {
  const reject = client.rejectPacketTooLarge.bind(client)
  client.rejectPacketTooLarge = (size, done) => { if (!rejectedInGap(client, size, done)) reject(size, done) }
  const disconnect = client.disconnect.bind(client)
  client.disconnect = (opts, done) => { if (!disconnectedInGap(client, opts, done)) disconnect(opts, done) }
}
