// Override: the byte buffer of mqtt-packet's Parser (one per connection), for
// the whole process.
// What mqtt-packet 9.0.2 does: Parser#_resetState (run when a parser is made
//   and after a parse error) sets `packet = new Packet()`, `error = null`,
//   `_list = bl()` and `_stateCounter = 0`. bl() is a BufferListStream: a
//   readable-stream Duplex (a ReadableState, a WritableState, an event table,
//   bound callbacks) of which the parser uses only the buffer-list methods
//   (append, consume, length, readUInt8/16BE/32BE, slice, toString), and
//   those make a Buffer view per byte read and per packet consumed.
// What edgemq does instead: the same four fields, with `_list` a ParserBytes
//   (parser-bytes.ts): those methods, the same results, no stream and no view
//   per read. A heap snapshot of 2,000 idle connections showed the stream at
//   ~0.8 KiB per connection (issue 10); the views were ~850 bytes of garbage
//   per QoS 1 PUBLISH (issue 11). Every parser of the process gets it
//   (MQTT.js's in the bridge too).
// Canary: test/engine/use-plain-buffer-list.test.ts (_resetState sets exactly
//   those fields, the parser calls no other list member, and every packet of
//   a corpus and random packet streams in random chunks parse as with bl).

import { ParserBytes } from './parser-bytes.ts'

/** The parts of mqtt-packet's parser this override reads. */
interface ParserShape {
  packet: object
  _list: { constructor: { BufferList?: new () => object } }
}

/** The mqtt-packet module as this override uses it. */
interface ParserFactory {
  parser: () => unknown
}

const INSTALLED = Symbol.for('edgemq.plainBufferList')

/** Makes every mqtt-packet parser made from now on hold a ParserBytes; false when the module's shape is not the one this was written for (nothing is changed then). */
export function usePlainBufferList (mqttPacket: ParserFactory): boolean {
  const probe = mqttPacket.parser() as ParserShape
  const proto = Object.getPrototypeOf(probe) as Record<string | symbol, unknown>
  if (proto[INSTALLED] === true) return true
  const Packet = probe.packet.constructor as new () => object
  if (typeof probe._list.constructor.BufferList !== 'function' || typeof proto._resetState !== 'function') return false
  proto._resetState = function resetState (this: Record<string, unknown>): void {
    this.packet = new Packet()
    this.error = null
    this._list = new ParserBytes()
    this._stateCounter = 0
  }
  Object.defineProperty(proto, INSTALLED, { value: true })
  return true
}
