// `edgemq throttle` against a running broker's control socket.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { PassThrough } from 'node:stream'
import { throttleCommand } from '../../src/cli/commands/throttle.ts'
import { controlSocketPath } from '../../src/control/control-path.ts'
import { startBrokerInProcess, type InProcessBroker } from '../helpers/broker-process.ts'

const run = async (args: string[]): Promise<{ code: number, out: string, err: string }> => {
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  let out = ''
  let err = ''
  stdout.on('data', (c) => { out += c })
  stderr.on('data', (c) => { err += c })
  const code = await throttleCommand.run(args, { stdout, stderr, stdin: new PassThrough(), env: {} })
  return { code, out, err }
}

let b: InProcessBroker
test.before(async () => { b = await startBrokerInProcess() })
test.after(async () => { await b.stop() })

test('set client=ID with a size rate, then get shows it as a control-socket rate', async () => {
  const socket = controlSocketPath(b.broker.config)
  const set = await run(['set', 'client=sensor-7', 'inboundBytesPerSecond=10KB', 'inboundMessagesPerSecond=20', '--socket', socket])
  assert.is(set.code, 0, set.err)
  const got = JSON.parse((await run(['get', '--socket', socket])).out) as { controlRates: Record<string, unknown> }
  assert.equal(got.controlRates['sensor-7'], { inboundBytesPerSecond: 10_240, inboundMessagesPerSecond: 20 })
  assert.is((await run(['set', 'client=sensor-7', 'clear=true', '--socket', socket])).code, 0)
  const cleared = JSON.parse((await run(['get', '--socket', socket])).out) as { controlRates: Record<string, unknown> }
  assert.equal(cleared.controlRates, {})
})

test('set group=NAME and listener=NAME change the settings; limits shows the memory state', async () => {
  const socket = controlSocketPath(b.broker.config)
  assert.is((await run(['set', 'group=sensors', 'outboundBytesPerSecond=1MB', '--socket', socket])).code, 0)
  assert.is((await run(['set', 'listener=tcp', 'connectionRate=5', 'connectionBurst=10', '--socket', socket])).code, 0)
  const got = JSON.parse((await run(['get', '--socket', socket])).out) as { settings: { groups: Record<string, unknown>, listeners: Record<string, unknown> } }
  assert.equal(got.settings.groups.sensors, { outboundBytesPerSecond: 1_048_576 })
  assert.equal(got.settings.listeners.tcp, { connectionRate: 5, connectionBurst: 10 })
  const limits = JSON.parse((await run(['limits', '--socket', socket])).out) as { memory: { state: string } }
  assert.is(limits.memory.state, 'ok')
})

test('a bad value or a missing target is refused with a message naming it', async () => {
  const socket = controlSocketPath(b.broker.config)
  const bad = await run(['set', 'client=x', 'inboundBytesPerSecond=lots', '--socket', socket])
  assert.is(bad.code, 2)
  assert.match(bad.err, 'inboundBytesPerSecond must be a number >= 0 or a size')
  let message = ''
  try { await run(['set', 'inboundBytesPerSecond=5', '--socket', socket]) } catch (err) { message = (err as Error).message }
  assert.match(message, 'say what to change')
  const usage = await run(['frob'])
  assert.is(usage.code, 2)
})

test.run()
