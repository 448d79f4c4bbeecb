import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { decodeQueueRecord, encodeQueueRecord } from '../../src/bridge/queue-record.ts'
import { isEdgemqError } from '../../src/errors.ts'

test('a record round-trips topic, payload, qos, retain and time', () => {
  const msg = { topic: 'site17/sensors/température', payload: Buffer.from([0, 1, 2, 255]), qos: 2 as const, retain: true, enqueuedAt: 1_763_800_000_123 }
  const bytes = encodeQueueRecord(msg)
  assert.is(bytes.length, 12 + Buffer.byteLength(msg.topic) + 4, '12 bytes of header per message')
  const back = decodeQueueRecord(bytes)
  assert.equal({ ...back, payload: [...back.payload] }, { ...msg, payload: [...msg.payload] })
})

test('an empty payload and QoS 0 without retain round-trip', () => {
  const back = decodeQueueRecord(encodeQueueRecord({ topic: 't', payload: Buffer.alloc(0), qos: 0, retain: false, enqueuedAt: 0 }))
  assert.is(back.payload.length, 0)
  assert.is(back.qos, 0)
  assert.is(back.retain, false)
})

test('corrupt records are refused with PERSISTENCE_CORRUPT, never misread', () => {
  const good = encodeQueueRecord({ topic: 'abc', payload: Buffer.from('x'), qos: 1, retain: false, enqueuedAt: 1 })
  const cases: Buffer[] = [
    good.subarray(0, 5),
    Buffer.concat([Buffer.from([2]), good.subarray(1)]),
    (() => { const b = Buffer.from(good); b[1] = 0x03; return b })(),
    (() => { const b = Buffer.from(good); b[1] = 0x09; return b })(),
    (() => { const b = Buffer.from(good); b.writeUInt16BE(500, 10); return b })()
  ]
  for (const c of cases) {
    try { decodeQueueRecord(c); assert.unreachable('decoded a corrupt record') } catch (err) { assert.ok(isEdgemqError(err, 'EDGEMQ_ERR_PERSISTENCE_CORRUPT'), String(err)) }
  }
})

test.run()
