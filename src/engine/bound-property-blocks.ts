// Override: how mqtt-packet reads a v5 property block.
// What mqtt-packet 9.0.2 does (parser.js `_parseProperties`, `_parseByType`):
//   it reads properties while its position is before the block's end, and
//   reads each value whole even when the value runs past that end: a property
//   cut short (a Topic Alias identifier as the block's last byte) takes its
//   value from the payload, and a Property Length past the packet's end is
//   read from what follows. A one-byte property (Payload Format Indicator,
//   Request Problem / Response Information) becomes `value !== 0`, so a
//   2 cannot be told from a 1 after parsing. A property repeated after a
//   falsy first value (Will Delay Interval 0, then again) silently replaces it
//   (`if (result[name])`), so the repeat cannot be seen either.
// What edgemq does instead: a property block whose properties do not end
//   exactly at its Property Length, or that claims more bytes than the packet
//   has, is a parse error ("malformed", 0x81 for a connected v5 client
//   [MQTT-2.2.2] [MQTT-1.5.5]); a one-byte property other than 0 or 1 is kept
//   as its number, and a repeated property always becomes an array of its
//   values, both of which src/protocol/v5-packet-checks.ts calls a Protocol
//   Error (0x82) before aedes uses them. The property block is read by
//   edgemq's own loop below (mqtt-packet's value readers, its identifier
//   table). Found by test/conformance/packet-fuzz.
// Canary: test/engine/bound-property-blocks.test.ts.

import tables from 'mqtt-packet/constants.js'

interface ParserInternals {
  _pos: number
  packet: { length: number }
  _parseVarByteNum: () => number | false
  _parseByte: () => number | undefined
  _parseProperties: () => Record<string, unknown> | false
  _parseByType: (type: string) => unknown
  _emitError: (err: Error) => void
}

const INSTALLED = Symbol.for('edgemq.boundPropertyBlocks')

/** Installs the override on mqtt-packet's Parser (once per process; every parser, made before or after, uses it). */
export function installBoundPropertyBlocks (mqttPacket: unknown): void {
  const proto = Object.getPrototypeOf((mqttPacket as { parser: (opts?: unknown) => object }).parser()) as ParserInternals & Record<symbol, boolean>
  if (proto[INSTALLED]) return
  proto[INSTALLED] = true
  const parseByType = proto._parseByType
  proto._parseProperties = function readPropertyBlock (this: ParserInternals) {
    const length = this._parseVarByteNum()
    if (typeof length !== 'number') {
      this._emitError(new Error('malformed properties: no Property Length'))
      return false
    }
    const end = this._pos + length
    if (end > this.packet.length) {
      this._emitError(new Error(`malformed properties: the Property Length (${length}) runs past the end of the packet`))
      return false
    }
    const result: Record<string, unknown> = {}
    while (this._pos < end) {
      const id = this._parseByte()
      const name = id === undefined ? undefined : tables.propertiesCodes[id]
      if (name === undefined) {
        this._emitError(new Error(`malformed properties: unknown property identifier ${String(id)}`))
        return false
      }
      const value = this._parseByType(tables.propertiesTypes[name])
      if (name === 'userProperties') {
        const pair = value as { name: unknown, value: unknown }
        const user = (result.userProperties ??= Object.create(null)) as Record<string, unknown>
        const key = String(pair.name)
        const before = user[key]
        user[key] = before === undefined ? pair.value : [...(Array.isArray(before) ? before : [before]), pair.value]
      } else if (Object.prototype.hasOwnProperty.call(result, name)) {
        // a repeat: an array, whatever the first value was (the checks refuse it)
        const before = result[name]
        result[name] = [...(Array.isArray(before) ? before : [before]), value]
      } else {
        result[name] = value
      }
    }
    if (this._pos !== end) {
      this._emitError(new Error('malformed properties: a property value runs past the Property Length'))
      return false
    }
    return result
  }
  proto._parseByType = function parseByTypeKeepingBadBytes (this: ParserInternals, type: string) {
    if (type !== 'byte') return parseByType.call(this, type)
    const value = this._parseByte()
    // 0 and 1 as mqtt-packet gives them; anything else kept as its number for the checks
    return value !== undefined && value > 1 ? value : value !== 0
  }
}
