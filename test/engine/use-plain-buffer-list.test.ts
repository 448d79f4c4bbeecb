// Canary of src/engine/use-plain-buffer-list.ts on the pinned mqtt-packet
// 9.0.2: _resetState sets exactly the four fields the override sets, the
// parser's list is bl's BufferListStream, the parser calls no list member
// ParserBytes lacks, and with the override on, every packet (3.1.1 and 5.0,
// in one chunk and byte by byte) parses to what it parsed to before, with no
// stream in the parser. Properties (fast-check): ParserBytes answers every
// call as bl's BufferList does, and random packet streams cut in random
// chunks parse alike with either list.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import fc from 'fast-check'
import mqttPacket from 'mqtt-packet'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { ParserBytes } from '../../src/engine/parser-bytes.ts'
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

const requireHere = createRequire(import.meta.url)
const parserFile = requireHere.resolve('mqtt-packet/parser.js')
/** bl's plain BufferList, the class mqtt-packet's list is made from. */
const BlBufferList = createRequire(parserFile)('bl').BufferList as new () => Record<string, (...args: any[]) => any> & { length: number }

test('mqtt-packet: the parser uses no member of its list that ParserBytes lacks', () => {
  const used = new Set([...readFileSync(parserFile, 'utf8').matchAll(/this\._list\.(\w+)/g)].map((m) => m[1]))
  assert.ok(used.size >= 6, [...used].join(' '))
  for (const member of used) assert.ok(member === 'length' || typeof (ParserBytes.prototype as unknown as Record<string, unknown>)[member] === 'function', `parser calls _list.${member}`)
})

/** One call's answer, or the error it threw (class and code). */
function answer (f: () => unknown): string {
  try {
    const v = f()
    return Buffer.isBuffer(v) ? `buffer ${v.toString('hex')}` : typeof v === 'object' ? 'self' : JSON.stringify(v)
  } catch (err) {
    return `throws ${(err as Error).name} ${String((err as { code?: string }).code)}`
  }
}

test('property: ParserBytes answers append, consume, reads, slice and toString as bl\'s BufferList does', () => {
  const call = fc.oneof(
    fc.record({ op: fc.constant('append' as const), bytes: fc.uint8Array({ maxLength: 12 }) }),
    fc.record({ op: fc.constant('consume' as const), n: fc.integer({ min: -2, max: 14 }) }),
    fc.record({ op: fc.constantFrom('readUInt8' as const, 'readUInt16BE' as const, 'readUInt32BE' as const), at: fc.integer({ min: 0, max: 16 }) }),
    // as the parser calls them: from its position to a later end (bl's answers to an end before the start are a quirk of Buffer#slice)
    fc.record({ op: fc.constantFrom('slice' as const, 'toString' as const), start: fc.integer({ min: 0, max: 18 }), span: fc.integer({ min: 0, max: 18 }) }).map((c) => ({ op: c.op, start: c.start, end: c.start + c.span }))
  )
  fc.assert(fc.property(fc.array(call, { maxLength: 40 }), (calls) => {
    const ours = new ParserBytes()
    const bl = new BlBufferList()
    for (const c of calls) {
      const run = (list: any): string => {
        switch (c.op) {
          case 'append': return answer(() => list.append(Buffer.from(c.bytes)))
          case 'consume': return answer(() => list.consume(c.n))
          case 'slice': return answer(() => list.slice(c.start, c.end))
          case 'toString': return answer(() => list.toString('hex', c.start, c.end))
          default: return answer(() => list[c.op](c.at))
        }
      }
      assert.is(run(ours), run(bl), JSON.stringify(c))
      assert.is(ours.length, bl.length, `length after ${JSON.stringify(c)}`)
    }
  }), { numRuns: 500 })
})

test('property: random packet streams cut in random chunks parse alike with ParserBytes and with bl', () => {
  const parseWith = (List: new () => unknown, version: 4 | 5, chunks: Buffer[]): string => {
    const parser = mqttPacket.parser({ protocolVersion: version }) as AnyParser
    parser._list = new List()
    const results: string[] = []
    parser.on('packet', (packet: unknown) => { results.push(JSON.stringify(packet)) })
    parser.on('error', (err: Error) => { results.push(`error: ${err.message}`) })
    for (const c of chunks) {
      try { parser.parse(c) } catch (err) { results.push(`throws ${(err as Error).message}`); break }
    }
    results.push(`left ${String((parser._list as { length: number }).length)}`)
    return results.join('\n')
  }
  const stream = fc.record({
    version: fc.constantFrom(4 as const, 5 as const),
    picks: fc.array(fc.oneof(fc.nat(packets.length - 1), fc.uint8Array({ minLength: 1, maxLength: 6 })), { minLength: 1, maxLength: 12 }),
    cuts: fc.array(fc.nat(), { maxLength: 10 })
  })
  fc.assert(fc.property(stream, ({ version, picks, cuts }) => {
    const bytes = Buffer.concat(picks.map((p) => typeof p === 'number' ? (packets.filter((x) => x.version === version)[p % packets.filter((x) => x.version === version).length]).bytes : Buffer.from(p)))
    const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)
    const chunks: Buffer[] = []
    let from = 0
    for (const c of [...at, bytes.length]) { if (c > from) { chunks.push(bytes.subarray(from, c)); from = c } }
    assert.is(parseWith(ParserBytes, version, chunks), parseWith(BlBufferList, version, chunks))
  }), { numRuns: 300 })
})

test.run()
