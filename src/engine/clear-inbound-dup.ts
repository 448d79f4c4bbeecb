// Override: the DUP flag of an incoming PUBLISH.
// What aedes 2.0.0-beta.1 does: aedes-packet copies `dup` from the PUBLISH a
//   client sent into the packets it delivers, so a publisher's retransmission
//   (DUP=1) reached every subscriber as a retransmission too.
// What edgemq does instead: DUP says whether this sender sent this packet
//   before on this hop; the broker's deliveries are new packets, so the flag
//   is cleared before aedes handles the PUBLISH [MQTT-3.3.1-3]. Duplicate
//   detection of QoS 2 uses the packet id (aedes's incoming store), not DUP,
//   and resends to subscribers get DUP=1 where the engine replays them.
// Canary: test/engine/clear-inbound-dup.test.ts.
import { addPacketFilter } from './intercept-parsed-packets.ts'

/** Installs the override (before the first connection). */
export function installClearInboundDup (aedes: unknown): void {
  addPacketFilter(aedes, (_client, packet) => {
    if (packet.cmd === 'publish' && packet.dup === true) packet.dup = false // [MQTT-3.3.1-3]
    return true
  })
}
