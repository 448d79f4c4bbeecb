// Override: the byte buffer of mqtt-packet's Parser (one per connection), for
// the whole process.
// What mqtt-packet 9.0.2 does: Parser#_resetState (run when a parser is made
//   and after a parse error) sets `packet = new Packet()`, `error = null`,
//   `_list = bl()` and `_stateCounter = 0`. bl() is a BufferListStream: a
//   readable-stream Duplex (a ReadableState, a WritableState, an event table,
//   bound callbacks) of which the parser uses only the buffer-list methods
//   (append, consume, length, readUInt8/16BE/32BE, slice, toString).
// What edgemq does instead: the same four fields, with bl's plain BufferList
//   (the class BufferListStream copies those methods from; no stream). A heap
//   snapshot of 2,000 idle connections showed the stream at ~0.8 KiB per
//   connection; it is also one Duplex less to build per CONNECT. Every parser
//   of the process gets it (MQTT.js's in the bridge too): same methods.
// Canary: test/engine/use-plain-buffer-list.test.ts (_resetState sets exactly
//   those fields, _list's class carries BufferList, the parser only calls
//   BufferList methods: every packet type round-trips with the override on).

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

/** Makes every mqtt-packet parser made from now on hold a plain BufferList; false when the module's shape is not the one this was written for (nothing is changed then). */
export function usePlainBufferList (mqttPacket: ParserFactory): boolean {
  const probe = mqttPacket.parser() as ParserShape
  const proto = Object.getPrototypeOf(probe) as Record<string | symbol, unknown>
  if (proto[INSTALLED] === true) return true
  const Packet = probe.packet.constructor as new () => object
  const BufferList = probe._list.constructor.BufferList
  if (typeof BufferList !== 'function' || typeof proto._resetState !== 'function') return false
  proto._resetState = function resetState (this: Record<string, unknown>): void {
    this.packet = new Packet()
    this.error = null
    this._list = new BufferList()
    this._stateCounter = 0
  }
  Object.defineProperty(proto, INSTALLED, { value: true })
  return true
}
