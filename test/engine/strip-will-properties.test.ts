// Canary for src/engine/strip-will-properties.ts: the pinned aedes still
// publishes wills through the members the override wraps, and still forwards a
// will's CONNECT properties as they are (if it stops, the override can go).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { REPO_ROOT } from '../helpers/broker-process.ts'
import { Aedes } from 'aedes'
import { installStripWillProperties, keepPublishProperties } from '../../src/engine/strip-will-properties.ts'

const aedesDir = join(REPO_ROOT, 'node_modules/aedes')

test('aedes\'s client calls broker.publishWill / scheduleWill on an abnormal close, and its will sweep reads persistence.streamWill', () => {
  const client = readFileSync(join(aedesDir, 'lib/client.js'), 'utf8')
  assert.match(client, /broker\.publishWill\(that, will\)/)
  assert.match(client, /broker\.scheduleWill\(that, will, delay\)/)
  const broker = readFileSync(join(aedesDir, 'aedes.js'), 'utf8')
  assert.match(broker, /persistence\.streamWill\(/)
  assert.match(broker, /publishWill \(client, will\)/)
})

async function publishedWill (install: boolean): Promise<Record<string, unknown> | undefined> {
  const aedes = new Aedes()
  await aedes.listen()
  if (install) installStripWillProperties(aedes)
  try {
    const got = new Promise<Record<string, unknown> | undefined>((resolve) => {
      aedes.subscribe('canary/will', (packet, cb) => { resolve((packet as unknown as { properties?: Record<string, unknown> }).properties); cb() }, () => {})
    })
    const will = { cmd: 'publish', topic: 'canary/will', payload: Buffer.from('x'), qos: 0, retain: false, properties: { willDelayInterval: 5, contentType: 'a/b' } }
    ;(aedes as unknown as { publishWill: (c: unknown, w: unknown) => void }).publishWill({ id: 'canary', version: 5 }, will)
    return await got
  } finally {
    await new Promise<void>((resolve) => aedes.close(() => resolve()))
  }
}

test('plain aedes publishes a will with its Will Delay Interval; with the override it is gone and the rest kept', async () => {
  assert.is((await publishedWill(false))?.willDelayInterval, 5, 'aedes no longer forwards 0x18: the override may be unneeded')
  assert.equal(await publishedWill(true), { contentType: 'a/b' })
})

test('keepPublishProperties keeps the packet object and only PUBLISH properties', () => {
  const will = { properties: { willDelayInterval: 1, userProperties: { a: 'b' }, messageExpiryInterval: 9 } }
  assert.is(keepPublishProperties(will), will)
  assert.equal(will.properties, { userProperties: { a: 'b' }, messageExpiryInterval: 9 })
})

test.run()
