import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { WaitingRoom, WaitingRoomRefusal, type Ticket } from '../../src/auth/waiting-room.ts'

function gate (): { promise: Promise<void>, open: () => void } {
  let open!: () => void
  const promise = new Promise<void>((resolve) => { open = resolve })
  return { promise, open }
}
const tick = async (): Promise<void> => { await new Promise((resolve) => setImmediate(resolve)) }
const t = (key: string, trusted = true, extra: Partial<Ticket> = {}): Ticket => ({ key, trusted, ...extra })
async function why (p: Promise<unknown>): Promise<string> {
  try { await p; return 'ran' } catch (err) { return err instanceof WaitingRoomRefusal ? err.why : String(err) }
}

test('runs at most `slots` jobs; the others wait and start as slots free', async () => {
  const room = new WaitingRoom({ slots: 2, reservedSlots: 1, size: 10, maxWait: 60_000 })
  const gates = [gate(), gate(), gate()]
  let started = 0
  const runs = gates.map((g, i) => room.run(t(`k${i}`), async () => { started++; await g.promise; return i }))
  await tick()
  assert.is(started, 2)
  assert.equal(room.load, { running: 2, waiting: 1 })
  gates[0].open()
  await runs[0]
  await tick()
  assert.is(started, 3)
  gates[1].open(); gates[2].open()
  assert.equal(await Promise.all(runs), [0, 1, 2])
  assert.equal(room.load, { running: 0, waiting: 0 })
})

test('waiters are served round-robin across addresses: one address with many waiters delays another by one turn at most', async () => {
  const room = new WaitingRoom({ slots: 1, reservedSlots: 0, size: 100, maxWait: 60_000 })
  const order: string[] = []
  const hold = gate()
  const first = room.run(t('nat'), async () => { await hold.promise })
  const runs: Array<Promise<void>> = []
  for (let i = 0; i < 5; i++) runs.push(room.run(t('nat'), async () => { order.push('nat') }))
  runs.push(room.run(t('other'), async () => { order.push('other') }))
  hold.open()
  await Promise.all([first, ...runs])
  assert.equal(order, ['nat', 'other', 'nat', 'nat', 'nat', 'nat'])
})

test('a full room refuses at once; a login from a small address turns away the newest waiter of the largest', async () => {
  const room = new WaitingRoom({ slots: 1, reservedSlots: 0, size: 2, maxWait: 60_000 })
  const hold = gate()
  const running = room.run(t('a'), async () => { await hold.promise })
  const a1 = room.run(t('a'), async () => 'a1')
  const a2 = room.run(t('a'), async () => 'a2')
  assert.is(await why(room.run(t('a'), async () => 'a3')), 'room-full', 'the largest address itself is refused')
  const b1 = room.run(t('b'), async () => 'b1')
  assert.is(await why(a2), 'room-full', 'a2 gave way to b1')
  assert.is(room.stats.turnedAway, 1)
  assert.is(await why(room.run(t('c'), async () => 'c1')), 'room-full', 'a and b hold one place each: nobody gives way')
  hold.open()
  await running
  assert.is(await a1, 'a1')
  assert.is(await b1, 'b1')
})

test('untrusted logins never hold the reserved slots; trusted ones go first and turn away untrusted waiters when full', async () => {
  const room = new WaitingRoom({ slots: 2, reservedSlots: 1, size: 2, maxWait: 60_000 })
  const holdBad = gate()
  const holdGood = gate()
  const order: string[] = []
  const bad1 = room.run(t('x', false), async () => { order.push('bad1'); await holdBad.promise })
  const bad2 = room.run(t('y', false), async () => { order.push('bad2') })
  const bad3 = room.run(t('z', false), async () => { order.push('bad3') })
  await tick()
  assert.equal(room.load, { running: 1, waiting: 2 }, 'one slot stays free for trusted logins')
  const good1 = room.run(t('g1'), async () => { order.push('good1'); await holdGood.promise })
  await tick()
  assert.equal(room.load, { running: 2, waiting: 2 }, 'the trusted login ran in the reserved slot at once')
  const bad3Settled = why(bad3)
  const good2 = room.run(t('g2'), async () => { order.push('good2') })
  assert.is(await bad3Settled, 'room-full', 'the room was full: the newest untrusted waiter gave way to a trusted login')
  holdBad.open()
  await bad1
  await good2
  assert.is(await why(bad2), 'ran')
  holdGood.open()
  await good1
  assert.equal(order, ['bad1', 'good1', 'good2', 'bad2'], 'the trusted waiter went before the untrusted one that waited longer')
})

test('known logins (certificate, recent success) go before merely unblemished ones; an address that failed meanwhile is demoted at its turn', async () => {
  const room = new WaitingRoom({ slots: 1, reservedSlots: 0, size: 10, maxWait: 60_000 })
  const hold = gate()
  const order: string[] = []
  let failed = false
  const running = room.run(t('x'), async () => { await hold.promise })
  const attacker = room.run(t('att', true, { demoted: () => failed }), async () => { order.push('attacker') })
  const fresh = room.run(t('new'), async () => { order.push('fresh') })
  const known = room.run(t('dev', true, { known: true }), async () => { order.push('known') })
  failed = true // the attacker address's first wrong password was verified meanwhile
  hold.open()
  await Promise.all([running, attacker, fresh, known])
  assert.equal(order, ['known', 'fresh', 'attacker'])
  assert.is(room.stats.demoted, 1)
  assert.equal(room.load, { running: 0, waiting: 0 })
})

test('a login waits at most maxWait, then is refused with "timeout"', async () => {
  const room = new WaitingRoom({ slots: 1, reservedSlots: 0, size: 10, maxWait: 50 })
  const hold = gate()
  const running = room.run(t('a'), async () => { await hold.promise })
  assert.is(await why(room.run(t('b'), async () => 'b')), 'timeout')
  assert.equal(room.load, { running: 1, waiting: 0 })
  hold.open()
  await running
})

test('per-address cap: places beyond perKeyCap are refused "per-ip"; other addresses still get in', async () => {
  const room = new WaitingRoom({ slots: 1, reservedSlots: 0, size: 10, maxWait: 60_000 })
  const hold = gate()
  const running = room.run(t('a', true, { perKeyCap: 2 }), async () => { await hold.promise })
  const waiting = room.run(t('a', true, { perKeyCap: 2 }), async () => 'a2')
  assert.is(await why(room.run(t('a', true, { perKeyCap: 2 }), async () => 'a3')), 'per-ip')
  const other = room.run(t('b', true, { perKeyCap: 2 }), async () => 'b1')
  hold.open()
  await running
  assert.is(await waiting, 'a2')
  assert.is(await other, 'b1')
})

test('a waiter whose turn comes when it is no longer wanted (banned, hung up) is turned away without running', async () => {
  const room = new WaitingRoom({ slots: 1, reservedSlots: 0, size: 10, maxWait: 60_000 })
  const hold = gate()
  let banned = false
  let ran = 0
  const running = room.run(t('a'), async () => { await hold.promise })
  const waiter = room.run(t('a', true, { stillWanted: () => !banned }), async () => { ran++ })
  banned = true
  hold.open()
  await running
  assert.is(await why(waiter), 'abandoned')
  assert.is(ran, 0)
  assert.equal(room.load, { running: 0, waiting: 0 })
})

test.run()
