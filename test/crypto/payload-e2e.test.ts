// The worked example of docs/envelope.md over a real edgemq broker: a sensor
// seals a reading, publishes it with mosquitto_pub, the broker stores and
// forwards ciphertext only, and the consumer opens what mosquitto_sub (and
// MQTT.js) receive.
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough, Readable } from 'node:stream'
import mqtt from 'mqtt'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import type { CliCommand } from '../../src/cli/cli-command.ts'
import { keygenCommand } from '../../src/cli/commands/keygen.ts'
import { openCommand } from '../../src/cli/commands/open.ts'
import { sealCommand } from '../../src/cli/commands/seal.ts'
import { open, readKeyFile, seal } from '../../src/crypto/index.ts'
import { requireTool, startBrokerInProcess, type InProcessBroker } from '../helpers/broker-process.ts'

const test = suite<{ dir: string, broker?: InProcessBroker }>('sealed payloads over a real broker', { dir: '' })
test.before(async (ctx) => {
  ctx.dir = await mkdtemp(join(tmpdir(), 'edgemq-payload-e2e-'))
  ctx.broker = await startBrokerInProcess()
})
test.after(async (ctx) => {
  await ctx.broker?.stop()
  await rm(ctx.dir, { recursive: true, force: true })
})

async function run (command: CliCommand, args: string[], stdin: Uint8Array | string = ''): Promise<{ code: number, stdout: Buffer, stderr: string }> {
  const out: Buffer[] = []; const err: Buffer[] = []
  const stdout = new PassThrough(); const stderr = new PassThrough()
  stdout.on('data', (d: Buffer) => out.push(d)); stderr.on('data', (d: Buffer) => err.push(d))
  const code = await command.run(args, { stdin: Readable.from([Buffer.from(stdin)]), stdout, stderr, env: {} })
  return { code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() }
}

async function tool (command: string, args: string[], input?: Buffer): Promise<Buffer> {
  return await new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] })
    const out: Buffer[] = []; let err = ''
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${command} timed out: ${err}`)) }, 15_000)
    child.stdout.on('data', (d: Buffer) => out.push(d))
    child.stderr.on('data', (d: Buffer) => { err += d.toString() })
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      if (code === 0) resolve(Buffer.concat(out)); else reject(new Error(`${command} exited ${code}: ${err}`))
    })
    child.stdin.end(input)
  })
}

const READING = '{"t":21.5,"h":40.2,"id":"greenhouse-3"}'

test('edgemq seal | mosquitto_pub -s  ->  broker  ->  mosquitto_sub -N | edgemq open', async ({ dir, broker }) => {
  const pub = requireTool('mosquitto_pub', 'mosquitto-clients')
  const sub = requireTool('mosquitto_sub', 'mosquitto-clients')
  const port = String(broker!.port)
  assert.is((await run(keygenCommand, ['--type', 'box', '--out', join(dir, 'cloud.key')])).code, 0)
  const sealed = await run(sealCommand, ['--to', join(dir, 'cloud.key.pub')], READING)
  assert.is(sealed.code, 0, sealed.stderr)
  await tool(pub, ['-h', '127.0.0.1', '-p', port, '-t', 'sensors/greenhouse-3/reading', '-r', '-q', '1', '-s'], sealed.stdout)
  const received = await tool(sub, ['-h', '127.0.0.1', '-p', port, '-t', 'sensors/+/reading', '-C', '1', '-N'])
  assert.equal(received, sealed.stdout, 'the broker forwarded the envelope byte for byte')
  assert.not.ok(received.includes(Buffer.from('greenhouse')), 'no plaintext on the wire')
  const opened = await run(openCommand, ['--key', join(dir, 'cloud.key'), '--info'], received)
  assert.is(opened.code, 0, opened.stderr)
  assert.is(opened.stdout.toString(), READING)
  assert.match(opened.stderr, 'opened anonymous envelope')
})

test('the library over MQTT.js: box mode from a sensor key to the cloud key, opened by the subscriber', async ({ dir, broker }) => {
  await run(keygenCommand, ['--type', 'box', '--out', join(dir, 'sensor.key')])
  await run(keygenCommand, ['--type', 'box', '--out', join(dir, 'cloud2.key')])
  const to = await readKeyFile(join(dir, 'cloud2.key.pub'), 'box-public')
  const from = await readKeyFile(join(dir, 'sensor.key'), 'box-secret')
  const keys = [await readKeyFile(join(dir, 'cloud2.key'), 'box-secret'), await readKeyFile(join(dir, 'sensor.key.pub'), 'box-public')]
  const url = `mqtt://127.0.0.1:${broker!.port}`
  const consumer = await mqtt.connectAsync(url, { clientId: 'consumer', reconnectPeriod: 0 })
  const sensor = await mqtt.connectAsync(url, { clientId: 'sensor', reconnectPeriod: 0 })
  try {
    const got = new Promise<Buffer>((resolve) => consumer.on('message', (_t, payload) => resolve(payload)))
    await consumer.subscribeAsync('sensors/+/boxed', { qos: 1 })
    await sensor.publishAsync('sensors/greenhouse-3/boxed', Buffer.from(seal(Buffer.from(READING), { to, from })), { qos: 1 })
    const result = open(await got, { keys })
    assert.is(Buffer.from(result.plaintext).toString(), READING)
    assert.is(result.mode, 'box')
    assert.is(result.senderKeyId, from.id)
  } finally {
    await sensor.endAsync()
    await consumer.endAsync()
  }
})

test.run()
