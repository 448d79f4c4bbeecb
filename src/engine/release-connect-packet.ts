// Override: what a client's parser keeps of its CONNECT packet.
// What mqtt-packet 9.0.2 does: Parser#_parseConnect ends with
//   `this.settings = packet`: the whole CONNECT (client id, user name,
//   password, will, properties) stays on the parser for the connection's life,
//   although the parser reads only `settings.protocolVersion` (v5 properties)
//   and `settings.bridgeMode` afterwards. A heap snapshot of 2,000 idle
//   connections showed it as the only holder of the CONNECT packet (~0.12 KiB
//   each without credentials, more with a password, which then also stays in
//   memory for no reason).
// What edgemq does instead: a parser filter replaces `settings` by an object
//   with those two fields once the CONNECT is parsed (before aedes handles it;
//   the parser reads settings only for the packets that follow).
// Canary: test/engine/release-connect-packet.test.ts (settings is the CONNECT
//   after parsing it; with the override, v5 packets after it parse as before).
import { addPacketFilter } from './intercept-parsed-packets.ts'

type AnyPacket = Record<string, any> & { cmd: string }

/** Installs the override (before the first connection). */
export function installReleaseConnectPacket (aedes: unknown): void {
  addPacketFilter(aedes, (client, packet) => {
    if (packet.cmd === 'connect') releaseConnectPacket(client._parser as unknown as { settings?: unknown }, packet)
    return true
  })
}

/** Keeps only what the parser reads of a CONNECT it has just parsed. */
export function releaseConnectPacket (parser: { settings?: unknown }, packet: AnyPacket): void {
  if (parser.settings !== packet) return
  parser.settings = { protocolVersion: packet.protocolVersion, bridgeMode: packet.bridgeMode }
}
