// Override: the first write on a v5 connection (its CONNACK), through conn.write.
// What aedes does: a v5 CONNACK always says sharedSubscriptionAvailable=false.
// What edgemq does instead: it provides shared subscriptions
//   (serve-shared-subscriptions.ts), so that CONNACK is re-encoded without the
//   property (absent = available [MQTT-3.2.2-13]); a refused CONNACK gets the
//   reason code the connect hooks decided (connack-reason-code.ts). Only the bytes up to the
//   end of the first packet are held; the original write is put back at once.
// Canary: test/engine/v5-shim-internals.test.ts (the first bytes aedes writes
//   on a v5 connection are a CONNACK with sharedSubscriptionAvailable false).
import mqttPacket from 'mqtt-packet'
import type { Duplex } from 'node:stream'
import type { AnyPacket, Callback, ShimmedClient } from './v5-shim-context.ts'
import { refusalReasonCodeOf } from './connack-reason-code.ts'

/** Re-encodes the client's CONNACK without sharedSubscriptionAvailable=false. */
export function rewriteConnack (client: ShimmedClient): void {
  const conn = client.conn as Duplex & { write: (...args: unknown[]) => boolean }
  const originalWrite = conn.write
  const chunks: Buffer[] = []
  let parser: ReturnType<typeof mqttPacket.parser> | undefined
  const restore = (): void => { conn.write = originalWrite }
  conn.write = function write (this: Duplex, chunk: unknown, ...rest: unknown[]): boolean {
    if (client.version !== 5 || (!Buffer.isBuffer(chunk) && typeof chunk !== 'string')) {
      restore()
      if (chunks.length > 0) originalWrite.call(this, Buffer.concat(chunks))
      return originalWrite.call(this, chunk, ...rest)
    }
    const cb = rest.find((r) => typeof r === 'function') as Callback | undefined
    // mqtt-packet writes string properties as strings (with an encoding argument)
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk, typeof rest[0] === 'string' ? rest[0] as BufferEncoding : 'utf8')
    chunks.push(bytes)
    if (parser === undefined) {
      parser = mqttPacket.parser({ protocolVersion: 5 })
      parser.on('packet', (packet: AnyPacket) => {
        restore()
        const refusal = packet.cmd === 'connack' && packet.reasonCode !== 0 ? refusalReasonCodeOf(client) : undefined
        if (packet.cmd === 'connack' && packet.properties?.sharedSubscriptionAvailable === false && packet.reasonCode === 0) {
          delete packet.properties.sharedSubscriptionAvailable
          originalWrite.call(conn, mqttPacket.generate(packet as mqttPacket.Packet, { protocolVersion: 5 }))
        } else if (refusal !== undefined && refusal !== packet.reasonCode) {
          // connack-reason-code.ts: the code the connect hooks decided, not aedes's 3.1.1 mapping
          packet.reasonCode = refusal
          originalWrite.call(conn, mqttPacket.generate(packet as mqttPacket.Packet, { protocolVersion: 5 }))
        } else {
          originalWrite.call(conn, Buffer.concat(chunks))
        }
      })
      parser.on('error', () => { restore(); originalWrite.call(conn, Buffer.concat(chunks)) })
    }
    parser.parse(bytes)
    if (cb !== undefined) setImmediate(cb)
    return true
  }
}
