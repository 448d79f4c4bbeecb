// Override: a client's rejectPacketTooLarge and disconnect, between CONNACK
// and `connected`.
// What aedes does: sets `connected` only after it has replayed the stored
//   queue, which follows the CONNACK; a packet that earns a DISCONNECT in that
//   window (a client may send right after CONNACK) got a bare close with no
//   reason code.
// What edgemq does instead: in that window the DISCONNECT is written (0x95 for
//   a packet too large [MQTT-3.2.2-15], or the reason asked for) and the
//   connection closed, as aedes does once connected.
// Canary: test/engine/v5-shim-internals.test.ts (rejectPacketTooLarge,
//   _rejectingPacketTooLarge, disconnect, connackSent, connected).
import { REASON } from '../reason-codes.ts'
import type { ShimmedClient } from './v5-shim-context.ts'
import { writePacket } from './write-packet.ts'

/** Gives a v5 client its DISCONNECT in the gap between CONNACK and `connected`. */
export function sendDisconnectEarly (client: ShimmedClient): void {
  const inGap = (): boolean => client.version === 5 && client.connackSent && !client.connected && !client.closed && !client.errored
  const reject = client.rejectPacketTooLarge.bind(client)
  client.rejectPacketTooLarge = (size, done) => {
    if (!client._rejectingPacketTooLarge && inGap()) {
      client._rejectingPacketTooLarge = true
      client.broker.emit('clientError', client, Object.assign(new Error('packet too large'), { size }))
      client.disconnect({ reasonCode: REASON.PACKET_TOO_LARGE }, done) // [MQTT-3.2.2-15]
      return
    }
    reject(size, done)
  }
  const disconnect = client.disconnect.bind(client)
  client.disconnect = (opts, done) => {
    if (inGap()) {
      writePacket(client, { cmd: 'disconnect', reasonCode: opts.reasonCode, ...(opts.properties === undefined ? {} : { properties: opts.properties }) })
      client.close(done)
      return
    }
    disconnect(opts, done)
  }
}
