// The size of an outgoing PUBLISH on the wire, measured by encoding it with
// mqtt-packet (the encoder aedes sends with), so properties are counted
// exactly as they will be written. Used for a client's Maximum Packet Size
// [MQTT-3.1.2-24]. Public mqtt-packet API (generate), kept in the engine
// folder because only the engine may depend on the packet library.
import mqttPacket from 'mqtt-packet'

/** Bytes an outgoing PUBLISH takes on the wire (fixed header included), for a client's Maximum Packet Size [MQTT-3.1.2-24]. */
export function publishWireSize (packet: { topic: string, payload: Buffer | string, qos: number, retain?: boolean, properties?: Record<string, unknown> }, protocolVersion: 3 | 4 | 5): number {
  try {
    return mqttPacket.generate({ cmd: 'publish', topic: packet.topic, payload: packet.payload, qos: packet.qos as 0 | 1 | 2, retain: packet.retain === true, dup: false, messageId: packet.qos > 0 ? 1 : undefined, properties: protocolVersion === 5 ? packet.properties : undefined } as unknown as mqttPacket.Packet, { protocolVersion }).length
  } catch {
    return Number.POSITIVE_INFINITY // what cannot be serialized cannot be sent
  }
}
