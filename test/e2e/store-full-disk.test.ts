// A full disk during a burst (issue 11): the store lives on a 3 MB tmpfs; a
// publisher sends QoS 1 messages with 16 KiB payloads to a persistent
// subscriber's topic until the disk is full. The broker must stay up, must not
// acknowledge what it could not write, and after the disk is grown and the
// broker restarted, every acknowledged message reaches the subscriber.
// Needs root (mount -t tmpfs); otherwise the test is skipped with its reason.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, connectAsync, type MqttClient } from 'mqtt'
import { startBrokerInProcess, type InProcessBroker } from '../helpers/broker-process.ts'

const mnt = mkdtempSync(join(tmpdir(), 'edgemq-fulldisk-'))
const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', mnt], { encoding: 'utf8' })
const canMount = mounted.status === 0
test.after(() => {
  if (canMount) spawnSync('umount', [mnt])
  rmSync(mnt, { recursive: true, force: true })
})

const name = 'a full disk during a burst: the broker stays up, acknowledges only what it wrote, and delivers all of it after the disk grows'
if (!canMount) {
  console.log(`skipped: ${name}: cannot mount a tmpfs (needs root): ${mounted.stderr.trim()}`)
  test.skip(name, () => {})
} else {
  test(name, async () => {
    const yaml = `listeners:\n  - { name: t, type: tcp, host: 127.0.0.1, port: 0 }\npersistence: { path: ${join(mnt, 'data')}, maxQueuedBytes: 0 }\n`
    let b: InProcessBroker | undefined
    const clients: MqttClient[] = []
    try {
      b = await startBrokerInProcess(yaml)
      const url = `mqtt://127.0.0.1:${b.port}`
      const sub = await connectAsync(url, { clientId: 'fd-sub', clean: false, reconnectPeriod: 0 })
      await sub.subscribeAsync('fd/#', { qos: 1 })
      await sub.endAsync()
      const pub = await connectAsync(url, { clientId: 'fd-pub', protocolVersion: 5, reconnectPeriod: 0 })
      clients.push(pub)
      pub.on('error', () => {})
      const acked: string[] = []
      let refused = 0
      const payload = (i: number): string => `m${i}:`.padEnd(16 * 1024, 'x')
      for (let i = 0; i < 400 && refused < 5; i++) {
        try {
          await pub.publishAsync('fd/t', payload(i), { qos: 1 })
          acked.push(`m${i}`)
        } catch {
          refused++
          if (!pub.connected) break
        }
      }
      assert.ok(refused > 0, `the disk never filled: ${acked.length} acknowledged`)
      assert.ok(acked.length > 0, 'nothing was acknowledged before the disk filled')
      assert.ok(b.broker.stats().persistenceWriteFailures > 0, 'the refused writes are counted (persistenceWriteFailures, $SYS store/write-failures)')
      // the broker is still up: a new client connects
      const probe = await connectAsync(url, { clientId: 'fd-probe', reconnectPeriod: 0 })
      await probe.endAsync()
      await b.broker.close().catch(() => {})
      b = undefined
      // grow the disk, restart on the same store
      assert.is(spawnSync('mount', ['-o', 'remount,size=64m', mnt]).status, 0)
      b = await startBrokerInProcess(yaml)
      const got = new Set<string>()
      const back = connect(`mqtt://127.0.0.1:${b.port}`, { clientId: 'fd-sub', clean: false, reconnectPeriod: 0 })
      clients.push(back)
      back.on('message', (_t, p) => { got.add(p.toString().split(':')[0]) })
      const deadline = Date.now() + 20_000
      while (acked.some((m) => !got.has(m)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
      assert.equal(acked.filter((m) => !got.has(m)), [], `acknowledged ${acked.length}, refused ${refused}`)
    } finally {
      for (const c of clients) c.end(true)
      await b?.stop()
    }
  })
}

test.run()
