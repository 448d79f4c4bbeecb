// Override: aedes's `maximumPacketSize` after construction.
// What aedes does: it reads the option once into `broker.maximumPacketSize`
//   and checks each inbound packet's declared length against it (lib/client.js
//   nextBatch, and the Maximum Packet Size it announces in a v5 CONNACK).
// What edgemq does instead: limits.maxPacketSize reloads live (SIGHUP), so the
//   field is set again on reload; the frame guard of every listener
//   (src/listeners/frame-guard.ts) enforces the same limit before aedes reads.
// Canary: test/engine/set-maximum-packet-size.test.ts (aedes still keeps the
//   option in that field and the CONNACK carries the new value).

/** Sets the packet size limit of a running aedes instance. */
export function setMaximumPacketSize (aedes: object, bytes: number): void {
  (aedes as { maximumPacketSize: number }).maximumPacketSize = bytes
}
