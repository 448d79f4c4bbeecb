import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { bridgeSysMessages } from '../../src/bridge/bridge-sys-topics.ts'
import type { BridgeStatus } from '../../src/bridge/bridge.ts'

test('each bridge gets connected, queue depth, bytes, oldest age and last error under $SYS/broker/bridges/<name>', () => {
  const status = {
    name: 'cloud', enabled: true, connected: false, url: 'mqtt://x', queue: { messages: 12, bytes: 600, oldestAgeSeconds: 90, inflight: 0 },
    counters: {}, lastError: 'mqtt://x: connect ECONNREFUSED'
  } as unknown as BridgeStatus
  assert.equal(bridgeSysMessages([status]), [
    { topic: '$SYS/broker/bridges/cloud/connected', payload: '0' },
    { topic: '$SYS/broker/bridges/cloud/queue/messages', payload: '12' },
    { topic: '$SYS/broker/bridges/cloud/queue/bytes', payload: '600' },
    { topic: '$SYS/broker/bridges/cloud/queue/oldestAgeSeconds', payload: '90' },
    { topic: '$SYS/broker/bridges/cloud/lastError', payload: 'mqtt://x: connect ECONNREFUSED' }
  ])
})

test.run()
