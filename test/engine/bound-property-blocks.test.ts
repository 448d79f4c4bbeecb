// Canary for src/engine/bound-property-blocks.ts: the pinned mqtt-packet still
// reads a property value past its Property Length turns a one-byte
// property 2 into `true` and drops a repeat after a 0 (if it stops, the override can go); with the override
// both are caught. The inputs are shrunk cases of test/conformance/packet-fuzz.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import mqttPacket from 'mqtt-packet'
import { installBoundPropertyBlocks } from '../../src/engine/bound-property-blocks.ts'

type Parsed = { packets: Array<Record<string, any>>, error?: string }
function parse (hex: string, protocolVersion: number): Parsed {
  const parser = mqttPacket.parser({ protocolVersion: protocolVersion as 5 })
  const out: Parsed = { packets: [] }
  parser.on('packet', (p) => { out.packets.push(p as unknown as Record<string, any>) })
  parser.on('error', (e) => { out.error = e.message })
  parser.parse(Buffer.from(hex, 'hex'))
  return out
}

// PUBLISH QoS 0 whose property block (17 bytes) ends with the Topic Alias identifier 0x23: its value is cut off
const CUT_ALIAS = '30200005667a2f703011080008667a2f7265706c790900026364237061796c6f6164'
// the same PUBLISH with a Property Length of 100: past the packet's end
const LENGTH_PAST_END = '30200005667a2f703064080008667a2f7265706c790900026364237061796c6f6164'
// CONNECT v5 with Request Response Information (0x19) = 2
const RRI_2 = '101d00044d51545405020002021902000e667a2d35333033372d35352d7330'
// a well-formed v5 PUBLISH with properties, and a CONNECT with Request Response Information 1
const GOOD = mqttPacket.generate({ cmd: 'publish', topic: 'a/b', payload: Buffer.from('x'), qos: 1, messageId: 7, retain: false, dup: false, properties: { payloadFormatIndicator: true, contentType: 't', topicAlias: 3, userProperties: { k: 'v' } } } as any, { protocolVersion: 5 }).toString('hex')
const RRI_1 = RRI_2.replace('021902', '021901')
// CONNECT v5 whose will properties give Will Delay Interval 0 twice
const WILL_DELAY_TWICE = '103700044d515454050e0002000010667a2d3639393337382d3139322d73310a180000000018000000000007667a2f77696c6c0004676f6e65'

test('plain mqtt-packet reads the cut Topic Alias from the payload, and a Request Response Information 2 as true', () => {
  const cut = parse(CUT_ALIAS, 5)
  assert.is(cut.error, undefined, 'mqtt-packet now refuses a cut property: the override may be unneeded')
  assert.is(cut.packets[0]?.properties?.topicAlias, 0x7061) // the payload's first two bytes 'pa'
  assert.is(parse(RRI_2, 5).packets[0]?.properties?.requestResponseInformation, true)
  assert.is(parse(WILL_DELAY_TWICE, 5).packets[0]?.will?.properties?.willDelayInterval, 0, 'mqtt-packet now keeps a repeat after a 0')
})

test('with the override: a cut property and a Property Length past the end are parse errors; a 2 stays 2; a repeat is an array; good packets parse as before', () => {
  installBoundPropertyBlocks(mqttPacket)
  installBoundPropertyBlocks(mqttPacket) // twice is once
  const cut = parse(CUT_ALIAS, 5)
  assert.match(cut.error ?? '', /runs past the Property Length/)
  assert.is(cut.packets.length, 0)
  assert.match(parse(LENGTH_PAST_END, 5).error ?? '', /past the end of the packet/)
  assert.is(parse(RRI_2, 5).packets[0]?.properties?.requestResponseInformation, 2)
  assert.is(parse(RRI_1, 5).packets[0]?.properties?.requestResponseInformation, true)
  assert.equal(parse(WILL_DELAY_TWICE, 5).packets[0]?.will?.properties?.willDelayInterval, [0, 0])
  const good = parse(GOOD, 5)
  assert.is(good.error, undefined)
  const props = good.packets[0]?.properties ?? {}
  assert.equal({ ...props, userProperties: { ...props.userProperties } }, { payloadFormatIndicator: true, contentType: 't', topicAlias: 3, userProperties: { k: 'v' } })
  assert.is(good.packets[0]?.payload.toString(), 'x')
})

test.run()
