// Canary of src/engine/use-plain-buffer-list.ts on the pinned mqtt-packet
// 9.0.2: _resetState sets exactly the four fields the override sets, the
// parser's list is bl's BufferListStream whose class carries the plain
// BufferList, and with the override on, every packet (3.1.1 and 5.0, in one
// chunk and byte by byte) parses to what it parsed to before, with no stream
// in the parser.
import mqttPacket from 'mqtt-packet'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { usePlainBufferList } from '../../src/engine/use-plain-buffer-list.ts'
import { V4_PACKETS, V5_BUILDERS } from '../conformance/packet-corpus.ts'

type AnyParser = ReturnType<typeof mqttPacket.parser> & Record<string, unknown>

/** Packets as a client or a server sends them, both versions. */
function corpus (): Array<{ version: 4 | 5, bytes: Buffer }> {
  const out: Array<{ version: 4 | 5, bytes: Buffer }> = []
  const generated: Array<Record<string, unknown>> = [
    { cmd: 'connect', clientId: 'c1', keepalive: 30, clean: true, username: 'u', password: Buffer.from('p'), will: { topic: 'w', payload: Buffer.from('bye'), qos: 1, retain: true } },
    { cmd: 'connack', returnCode: 0, reasonCode: 0, sessionPresent: false },
    { cmd: 'publish', topic: 'a/b', payload: Buffer.alloc(300, 7), qos: 1, messageId: 42, retain: false, dup: false },
    { cmd: 'publish', topic: 'a', payload: Buffer.from('x'), qos: 0, retain: true, dup: false },
    { cmd: 'puback', messageId: 42 }, { cmd: 'pubrec', messageId: 43 }, { cmd: 'pubrel', messageId: 43 }, { cmd: 'pubcomp', messageId: 43 },
    { cmd: 'subscribe', messageId: 2, subscriptions: [{ topic: 'a/#', qos: 1 }, { topic: 'b', qos: 0 }] },
    { cmd: 'suback', messageId: 2, granted: [1, 0] },
    { cmd: 'unsubscribe', messageId: 3, unsubscriptions: ['a/#'] }, { cmd: 'unsuback', messageId: 3, granted: [0] },
    { cmd: 'pingreq' }, { cmd: 'pingresp' }, { cmd: 'disconnect' }
  ]
  for (const version of [4, 5] as const) {
    for (const p of generated) out.push({ version, bytes: mqttPacket.generate({ ...p, protocolVersion: version } as never, { protocolVersion: version }) })
  }
  for (const v of Object.values(V4_PACKETS)) out.push({ version: 4, bytes: typeof v.bytes === 'function' ? v.bytes('c2') : v.bytes })
  for (const b of Object.values(V5_BUILDERS)) {
    out.push({ version: 5, bytes: b.build(Buffer.from([0]), Buffer.from([0]), 'c3') })
  }
  return out
}

/** What a parser makes of the bytes, fed whole and then one byte at a time. */
function parseAll (version: 4 | 5, bytes: Buffer): string {
  const results: string[] = []
  for (const chunks of [[bytes], [...bytes].map((b) => Buffer.from([b]))]) {
    const parser = mqttPacket.parser({ protocolVersion: version }) as AnyParser
    parser.on('packet', (packet: unknown) => { results.push(JSON.stringify(packet)) })
    parser.on('error', (err: Error) => { results.push(`error: ${err.message}`) })
    for (const c of chunks) parser.parse(c)
    results.push(`left ${String((parser._list as { length: number }).length)}`)
  }
  return results.join('\n')
}

/** A stream of any make (readable-stream's Duplex is not node:stream's). */
const isStream = (x: unknown): boolean => typeof x === 'object' && x !== null && '_readableState' in x && '_writableState' in x

const packets = corpus()
const before = packets.map((p) => parseAll(p.version, p.bytes))

test('mqtt-packet: _resetState sets packet, error, _list and _stateCounter; _list is a stream whose class carries BufferList', () => {
  const parser = mqttPacket.parser() as AnyParser
  const resetState = Object.getPrototypeOf(parser)._resetState as (this: object) => void
  const fields: Record<string, unknown> = {}
  resetState.call(fields)
  assert.equal(Object.keys(fields).sort(), ['_list', '_stateCounter', 'error', 'packet'])
  assert.ok(isStream(parser._list), 'bl() is a (readable-stream) Duplex')
  const BufferList = (parser._list as { constructor: { BufferList?: { prototype: object } } }).constructor.BufferList
  assert.type(BufferList, 'function')
  for (const method of ['append', 'consume', 'readUInt8', 'readUInt16BE', 'readUInt32BE', 'slice', 'toString']) {
    assert.type((BufferList!.prototype as Record<string, unknown>)[method], 'function', method)
  }
})

test('with the override, every packet parses as before, and the parser holds no stream', () => {
  assert.ok(usePlainBufferList(mqttPacket as never), 'installed')
  const parser = mqttPacket.parser() as AnyParser
  assert.not.ok(isStream(parser._list), 'a plain BufferList')
  assert.ok(packets.length > 40)
  for (let i = 0; i < packets.length; i++) assert.is(parseAll(packets[i].version, packets[i].bytes), before[i], `packet ${i}`)
  assert.ok(usePlainBufferList(mqttPacket as never), 'a second install is a no-op')
})

test.run()
