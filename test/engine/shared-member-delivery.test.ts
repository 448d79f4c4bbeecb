// Canary for src/engine/shared-member-delivery.ts: the override relies on the
// pinned aedes asking authorizeForward synchronously inside a client's
// deliverQoS / deliver0 and dropping a refused packet silently (callback
// called, nothing written). If an aedes upgrade changes that, these fail and
// the override must be looked at again. Plus the member-choice logic itself.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createServer, type Server } from 'node:net'
import { Aedes } from 'aedes'
import { RawMqtt } from '../helpers/raw-mqtt.ts'
import { deliverToOneMember, FORWARD_REFUSED, markForwardResult } from '../../src/engine/shared-member-delivery.ts'

type AnyClient = { deliverQoS: (p: object, cb: () => void) => void, deliver0: (p: object, cb: () => void) => void }

let aedes: Aedes
let server: Server
let answer: 'refuse' | 'allow' = 'refuse'
let asked = 0
let client: AnyClient
let raw: RawMqtt

test.before(async () => {
  aedes = new Aedes({
    authorizeForward: (_client: unknown, packet: unknown) => { asked++; return answer === 'allow' ? packet : null }
  } as unknown as ConstructorParameters<typeof Aedes>[0])
  await aedes.listen()
  server = createServer((socket) => { aedes.handle(socket) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  const ready = new Promise<AnyClient>((resolve) => aedes.once('clientReady', (c: unknown) => { resolve(c as AnyClient) }))
  raw = (await RawMqtt.connected(port, 4, { clientId: 'canary' })).c
  client = await ready
})
test.after(async () => {
  raw.destroy()
  await new Promise<void>((resolve) => aedes.close(() => resolve()))
  await new Promise<void>((resolve) => server.close(() => resolve()))
})

const publish = (qos: 0 | 1): Record<string, unknown> => ({ cmd: 'publish', topic: 'dash/1', payload: Buffer.from('x'), qos, retain: false, dup: false, brokerId: null, brokerCounter: 0 })

for (const qos of [1, 0] as const) {
  const method = qos === 1 ? 'deliverQoS' : 'deliver0'
  test(`aedes ${method}: authorizeForward is asked before the call returns, and a refusal writes nothing and still calls back`, async () => {
    answer = 'refuse'
    asked = 0
    const packet = publish(qos)
    const called = new Promise<void>((resolve) => { client[method](packet, resolve) })
    assert.is(asked, 1, 'asked synchronously: the override reads the refusal mark right after the call')
    await called
    assert.ok(await raw.nothing('publish', 300), 'a refused packet is dropped silently')
  })

  test(`aedes ${method}: an allowed packet is written (the canary can see deliveries)`, async () => {
    answer = 'allow'
    const called = new Promise<void>((resolve) => { client[method](publish(qos), resolve) })
    const got = await raw.next('publish', 3000)
    assert.is(got.topic, 'dash/1')
    await called
    if (got.qos === 1) raw.send({ cmd: 'puback', messageId: got.messageId })
  })
}

test('deliverToOneMember: a refused hand-off goes to the next member; done runs once, after the one that took it', async () => {
  const members = ['sensor', 'operator']
  const handed: string[] = []
  let done = 0
  const finished = new Promise<void>((resolve) => {
    deliverToOneMember<string>((tried) => members.find((m) => !tried.has(m)), (member, written) => {
      handed.push(member)
      const copy = {}
      markForwardResult(copy, member === 'sensor' ? null : copy)
      setImmediate(written) // aedes calls back on a later turn, refused or not
      return copy
    }, () => { done++; resolve() })
  })
  await finished
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(handed, ['sensor', 'operator'])
  assert.is(done, 1)
})

test('deliverToOneMember: nobody may take it: done at once, every member tried once', () => {
  const tried: string[] = []
  let done = 0
  deliverToOneMember<string>((t) => ['a', 'b'].find((m) => !t.has(m)), (member) => { tried.push(member); return { [FORWARD_REFUSED]: true } }, () => { done++ })
  assert.equal(tried, ['a', 'b'])
  assert.is(done, 1)
})

test.run()
