// The copy aedes makes of a message before it routes or sends it
// (aedes-packet's Packet, used by Aedes#publish and by QoSPacket), for the
// overrides that take one of aedes's paths over: the same own fields, set the
// same way and in the same order. Code downstream (the store's normalizeQueued,
// aedes's own copies) asks hasOwnProperty, so a field that is not set must not
// be an own property: the fields are `declare`d, and no field definitions are
// emitted for them.
// Canary: test/engine/direct-queue-replay.test.ts (field for field against
//   aedes's QoSPacket, which extends aedes-packet's Packet) and
//   test/engine/route-qos1-before-ack.test.ts.
import type { AnyPacket } from './v5-shim-context.ts'

/** The broker members a copy reads: a message without a broker id or counter gets this broker's. */
export interface PacketBroker {
  id: string
  counter: number
}

/** aedes-packet's Packet. */
export class AedesPacket {
  declare clientId?: string | null
  declare nl?: boolean
  declare properties?: Record<string, any>
  declare messageExpiry?: number
  declare cmd: string
  declare brokerId: string
  declare brokerCounter: number
  declare topic: string
  declare payload: Buffer
  declare qos: number
  declare retain: boolean
  declare dup: boolean
  declare messageId?: number

  constructor (original: AnyPacket, broker: PacketBroker) {
    if (Object.hasOwn(original, 'clientId')) this.clientId = original.clientId
    if (Object.hasOwn(original, 'nl')) this.nl = original.nl
    if (Object.hasOwn(original, 'properties')) this.properties = original.properties
    if (Object.hasOwn(original, 'messageExpiry')) this.messageExpiry = original.messageExpiry
    this.cmd = original.cmd || 'publish'
    this.brokerId = original.brokerId || broker.id
    this.brokerCounter = original.brokerCounter || ++broker.counter
    this.topic = original.topic
    this.payload = original.payload || Buffer.alloc(0)
    this.qos = original.qos || 0
    this.retain = original.retain || false
    this.dup = original.dup || false
    // [MQTT-2.3.1-5] a QoS 1/2 delivery (or an acknowledgement) gets its own packet id
    if (this.qos > 0 || this.cmd !== 'publish') this.messageId = undefined
  }
}
