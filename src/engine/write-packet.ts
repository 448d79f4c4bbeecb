// Writes a packet the shims build themselves (SUBACK, UNSUBACK, an early
// DISCONNECT) the way aedes writes its own: mqtt-packet's writeToStream on the
// client's connection, in the protocol version cached at CONNECT
// (client._wireVersion, lib/write.js), so it goes through the same encoder.
// Canary: test/engine/v5-shim-internals.test.ts (_wireVersion is set at CONNECT).
import mqttPacket from 'mqtt-packet'
import type { AnyPacket, AedesClient } from './v5-shim-context.ts'

/** Writes `packet` to the client in its wire version. */
export function writePacket (client: AedesClient, packet: AnyPacket): void {
  const version = client._wireVersion ?? 4
  mqttPacket.writeToStream(packet as mqttPacket.Packet, client.conn, { protocolVersion: version as 3 | 4 | 5 })
}
