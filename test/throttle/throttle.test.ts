import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Throttle, parseRates, type ThrottleSettings } from '../../src/throttle/throttle.ts'

const base: ThrottleSettings = {
  global: { inboundBytesPerSecond: 0, inboundMessagesPerSecond: 0 },
  client: { inboundBytesPerSecond: 1000, inboundMessagesPerSecond: 0, outboundBytesPerSecond: 0 },
  groups: { sensors: { inboundBytesPerSecond: 100 } },
  listeners: {},
  burstSeconds: 1
}

test('a client gets the default rates, a group member the group rates', () => {
  const t = new Throttle(base, () => 0)
  assert.is(t.addClient('a', 'tcp', []).rates.inboundBytesPerSecond, 1000)
  const s = t.addClient('s', 'tcp', ['other', 'sensors'])
  assert.is(s.rates.inboundBytesPerSecond, 100)
  assert.is(s.source, 'group')
})

test('auth overrides beat the group; control-socket rates beat both and survive reconnects', () => {
  const t = new Throttle(base, () => 0)
  assert.is(t.addClient('s', 'tcp', ['sensors'], { inboundBytesPerSecond: 50 }).rates.inboundBytesPerSecond, 50)
  t.setControlRates('s', { inboundBytesPerSecond: 7 })
  assert.is(t.client('s')?.rates.inboundBytesPerSecond, 7)
  const again = t.addClient('s', 'tcp', ['sensors'])
  assert.is(again.rates.inboundBytesPerSecond, 7)
  assert.is(again.source, 'control')
  t.setControlRates('s', undefined)
  assert.is(t.client('s')?.rates.inboundBytesPerSecond, 100)
})

test('chargeInbound returns the longest wait of the global, listener and client buckets', () => {
  let now = 0
  const t = new Throttle({ ...base, global: { inboundBytesPerSecond: 500, inboundMessagesPerSecond: 0 }, listeners: { tcp: { inboundMessagesPerSecond: 1 } } }, () => now)
  const c = t.addClient('a', 'tcp', [])
  assert.is(t.chargeInbound(c, 500), 0) // bursts of all three cover it
  const wait = t.chargeInbound(c, 500) // global: 500 over at 500/s = 1000 ms; listener 1 msg over at 1/s = 1000 ms; client 0
  assert.is(Math.round(wait), 1000)
  now += 2000 // debt paid and one message of tokens saved
  assert.is(t.chargeInbound(c, 0), 0)
})

test('update re-rates connected clients without replacing them (reload keeps clients)', () => {
  const t = new Throttle(base, () => 0)
  const c = t.addClient('a', 'tcp', [])
  t.update({ ...base, client: { ...base.client, inboundBytesPerSecond: 5 } })
  assert.is(t.client('a'), c)
  assert.is(c.rates.inboundBytesPerSecond, 5)
})

test('clients without a per-client rate share one unlimited bucket; a rate set later gives one its own, limiting at once', () => {
  let now = 0
  const none: ThrottleSettings = { ...base, client: { inboundBytesPerSecond: 0, inboundMessagesPerSecond: 0, outboundBytesPerSecond: 0 } }
  const t = new Throttle(none, () => now)
  const a = t.addClient('a', 'tcp', [])
  const b = t.addClient('b', 'tcp', [])
  assert.is(a.inBytes, b.inBytes, 'shared (issue 10: three buckets per idle connection)')
  assert.is(a.rates, b.rates, 'the default rates object, not a copy per client')
  for (let i = 0; i < 100; i++) assert.is(t.chargeInbound(a, 10_000), 0)
  t.setControlRates('a', { inboundBytesPerSecond: 100 })
  assert.is.not(a.inBytes, b.inBytes)
  assert.is(t.chargeInbound(a, 100), 0, 'a new limit starts with a full burst')
  assert.is(Math.round(t.chargeInbound(a, 100)), 1000, 'then the rate holds')
  assert.is(t.chargeInbound(b, 10_000), 0, 'the other client is still unlimited')
  now += 5000
  t.setControlRates('a', undefined)
  assert.is(a.inBytes, b.inBytes, 'back to the shared bucket')
  assert.is(t.chargeInbound(a, 10_000), 0)
})

test('removeClient keeps a newer registration of the same id (takeover)', () => {
  const t = new Throttle(base, () => 0)
  const old = t.addClient('a', 'tcp', [])
  const fresh = t.addClient('a', 'tcp', [])
  t.removeClient(old)
  assert.is(t.client('a'), fresh)
})

test('outbound: drops once the outbound rate is used up and counts it', () => {
  const t = new Throttle({ ...base, client: { ...base.client, outboundBytesPerSecond: 100 } }, () => 0)
  const c = t.addClient('a', 'tcp', [])
  assert.ok(t.chargeOutbound(c, 150))
  assert.not.ok(t.chargeOutbound(c, 10))
  assert.is(c.outboundDropped, 1)
})

test('listener connection rate refuses beyond the burst', () => {
  const t = new Throttle({ ...base, listeners: { pub: { connectionRate: 1, connectionBurst: 2 } } }, () => 0)
  assert.ok(t.acceptConnection('pub'))
  assert.ok(t.acceptConnection('pub'))
  assert.not.ok(t.acceptConnection('pub'))
  assert.ok(t.acceptConnection('other'))
})

test('parseRates names a wrong key and a negative value', () => {
  assert.match(parseRates({ inbound: 1 }, 'x') as string, 'x.inbound is not a rate')
  assert.match(parseRates({ inboundBytesPerSecond: -1 }, 'x') as string, '>= 0')
  assert.equal(parseRates({ inboundBytesPerSecond: '10' }, 'x'), { inboundBytesPerSecond: 10 })
})

test.run()
