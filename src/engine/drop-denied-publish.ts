// Override: a 3.1.1 PUBLISH that the ACL denies.
// What aedes 2.0.0-beta.1 does: for a 3.1/3.1.1 client an error from
//   authorizePublish closes the connection (lib/handlers/publish.js passes
//   `done` straight through); only v5 clients get a PUBACK/PUBREC 0x87 and
//   keep the connection, aedes marking the packet `_notAuthorized` so
//   enqueuePublish drops it.
// What edgemq does instead (auth.deniedPublish: acknowledge, the default): the
//   3.1.1 client gets the acknowledgement it would get for a delivered message
//   (PUBACK, or PUBREC then PUBCOMP on its PUBREL) and the message is dropped
//   [MQTT-3.3.5-2]; the connection stays, so a device with a wrong topic is
//   not sent into a reconnect loop that resends the same message forever
//   (Debian's Mosquitto 2.0.11 acknowledges, then closes). The same
//   `_notAuthorized` mark makes aedes drop it.
// Canary: test/engine/drop-denied-publish.test.ts.
import mqttPacket from 'mqtt-packet'

/** The aedes client members this override uses. */
interface DenyClient {
  conn: unknown
  _wireVersion?: number | null
}

/** Acknowledges a denied 3.1.1 PUBLISH as if delivered and has aedes drop it; call instead of done(err) in authorizePublish. */
export function acknowledgeAndDrop (client: unknown, packet: { qos: number, messageId?: number, _notAuthorized?: boolean }, done: (err?: Error | null) => void): void {
  const c = client as DenyClient
  packet._notAuthorized = true // aedes's enqueuePublish then neither publishes nor acknowledges it
  if (packet.qos > 0 && typeof packet.messageId === 'number') {
    const version = (c._wireVersion ?? 4) as 3 | 4
    // QoS 2: PUBREC now; the PUBREL that follows finds nothing stored and aedes answers PUBCOMP.
    mqttPacket.writeToStream({ cmd: packet.qos === 1 ? 'puback' : 'pubrec', messageId: packet.messageId } as mqttPacket.Packet, c.conn as NodeJS.WritableStream, { protocolVersion: version })
  }
  done(null)
}
