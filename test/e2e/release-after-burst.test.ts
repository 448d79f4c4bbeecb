// memory.releaseAfterBurst on the broker (src/limits/release-after-burst.ts):
// in the limits part with the heap and loop readings injected, a burst
// followed by a quiet loop runs one collection and counts it, a busy loop or
// the option off runs none; and on the built bundle, started as users start
// it, a real burst of queued QoS 1 messages is followed by a release, with
// every queued message still delivered afterwards.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { connect, connectAsync } from 'mqtt'
import { join } from 'node:path'
import { createLimits } from '../../src/limits/attach-limits.ts'
import { callControl } from '../../src/control/control-client.ts'
import { startBrokerInProcess, startBrokerProcess } from '../helpers/broker-process.ts'
import { waitUntil } from '../helpers/wait-until.ts'

const MiB = 1024 * 1024

/** The limits part on a real broker, its readings and collector injected; `tick` is one memory check 500 ms after the last. */
async function limitsWith (yaml: string, readings: { heap: number, busy: number }): Promise<{ tick: () => void, collected: () => number, limits: Awaited<ReturnType<typeof createLimits>>, stop: () => Promise<void> }> {
  let collected = 0
  let limits: Awaited<ReturnType<typeof createLimits>> | undefined
  let t = 0
  const b = await startBrokerInProcess('listeners:\n  - { name: tcp, type: tcp, host: 127.0.0.1, port: 0 }\n' + yaml, {
    parts: [async (ctx) => (limits = await createLimits(ctx, {
      now: () => t,
      release: { heapCommitted: () => readings.heap, loopUtilization: () => readings.busy, collect: () => { collected++; return true } }
    }))]
  })
  const tick = (): void => { t += 500; limits!.checkMemory() }
  return { tick, collected: () => collected, limits: limits!, stop: async () => { await b.stop() } }
}

test('limits part: growth then a quiet loop runs one collection and counts it; none while busy', async () => {
  const readings = { heap: 20 * MiB, busy: 0.9 }
  const on = await limitsWith('memory: { checkInterval: 60s }\n', readings)
  try {
    const { tick } = on
    tick()
    readings.heap = 40 * MiB
    for (let i = 0; i < 10; i++) tick() // busy: the burst runs
    assert.is(on.collected(), 0)
    readings.busy = 0.01
    for (let i = 0; i < 11; i++) tick() // 5.5 s quiet: not yet (V8 measures its allocation rate over 5 s)
    assert.is(on.collected(), 0)
    for (let i = 0; i < 4; i++) tick() // 7.5 s quiet
    assert.is(on.collected(), 1)
    assert.is(on.limits.counters.memoryReleases, 1)
  } finally { await on.stop() }
})

test('limits part, option off: a burst and a quiet loop run nothing', async () => {
  const readings = { heap: 20 * MiB, busy: 0.01 }
  const off = await limitsWith('memory: { checkInterval: 60s, releaseAfterBurst: false }\n', readings)
  try {
    const { tick } = off
    tick()
    readings.heap = 60 * MiB
    for (let i = 0; i < 20; i++) tick()
    assert.is(off.collected(), 0)
    assert.is(off.limits.counters.memoryReleases, 0)
  } finally { await off.stop() }
})

test('built bundle: a burst of queued QoS 1 messages, then quiet: one release, and every message is delivered after it', async () => {
  const broker = await startBrokerProcess({ bundle: true, config: 'listeners:\n  - { name: tcp, type: tcp, host: 127.0.0.1, port: 0 }\n', startTimeoutMs: 30_000 })
  try {
    const url = `mqtt://127.0.0.1:${broker.port}`
    const sock = join(broker.dataDir, 'control.sock')
    const sessions = 50
    for (let i = 0; i < sessions; i++) {
      const s = await connectAsync(url, { clientId: `away-${i}`, clean: false, reconnectPeriod: 0 })
      await s.subscribeAsync(`burst/${i}`, { qos: 1 })
      await s.endAsync()
    }
    const before = await callControl(sock, 'limits.get') as { counters: { memoryReleases: number } }
    const pub = await connectAsync(url, { clientId: 'pub', reconnectPeriod: 0 })
    const payload = Buffer.alloc(1000, 7)
    const perSession = 400 // 20k messages of 1 KB: the heap grows well past the 8 MiB of a burst (~12 MiB at 10k)
    for (let round = 0; round < perSession; round++) {
      await Promise.all(Array.from({ length: sessions }, async (_, i) => await pub.publishAsync(`burst/${i}`, payload, { qos: 1 })))
    }
    await pub.endAsync()
    // the check runs every 500 ms; quiet for 6 s, then the release
    let releases = before.counters.memoryReleases
    const deadline = Date.now() + 15_000
    while (releases === before.counters.memoryReleases && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250))
      releases = (await callControl(sock, 'limits.get') as { counters: { memoryReleases: number } }).counters.memoryReleases
    }
    assert.is(releases, before.counters.memoryReleases + 1, 'no release within 15 s of the burst')
    let received = 0
    for (let i = 0; i < sessions; i++) {
      // the listener goes on before the CONNACK: queued messages arrive in the same read as it
      const back = connect(url, { clientId: `away-${i}`, clean: false, reconnectPeriod: 0 })
      let got = 0
      back.on('message', () => { got++ })
      await waitUntil(`away-${i}'s ${perSession} queued messages`, () => got >= perSession)
      received += got
      await back.endAsync()
    }
    assert.is(received, sessions * perSession)
  } finally { await broker.stop() }
})

test.run()
