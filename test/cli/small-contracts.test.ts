// Smaller contracts of issue 15, through the real tools:
// - `edgemq passwd --stdin`: one line, or two equal lines (the second
//   confirms); two different lines or more lines are refused (it took the
//   first line and never compared it with the second).
// - `mosquitto_sub ... | edgemq open` (docs/bridge.md step 4): mosquitto_sub
//   adds a newline, which made open fail; one trailing newline is accepted.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn, spawnSync } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { startBroker, type EdgemqBroker } from '../../src/broker.ts'
import { parseConfigText } from '../../src/config/config-file.ts'
import { resolveConfig } from '../../src/config/load-config.ts'
import { silentLogger } from '../../src/observability/logger.ts'
import { parsePasswordHash, verifyPassword } from '../../src/auth/password-hash.ts'
import { buildBundle, runCli, type BuiltBundle } from '../helpers/built-bundle.ts'

let bundle: BuiltBundle
test.before(async () => { bundle = await buildBundle() })
test.after(async () => { await bundle.remove() })

test('passwd --stdin: one line or two equal lines set the password; two different lines or three lines are refused and change nothing', async () => {
  const file = join(bundle.dir, 'passwd')
  let run = await runCli(bundle.main, ['passwd', '--stdin', file, 'alice'], { input: 'first-pw\n' })
  assert.is(run.code, 0, run.stderr)
  run = await runCli(bundle.main, ['passwd', '--stdin', file, 'alice'], { input: 'second-pw\nsecond-pw\n' })
  assert.is(run.code, 0, run.stderr)
  const after = await readFile(file, 'utf8')
  const hash = after.split(':').slice(1).join(':').trim()
  assert.ok(await verifyPassword(Buffer.from('second-pw'), parsePasswordHash(hash) as Exclude<ReturnType<typeof parsePasswordHash>, string>), 'two equal lines set the password')
  run = await runCli(bundle.main, ['passwd', '--stdin', file, 'alice'], { input: 'typo-pw\ntypo-pW\n' })
  assert.is(run.code, 1)
  assert.match(run.stderr, /the two lines of standard input differ/)
  run = await runCli(bundle.main, ['passwd', '--stdin', file, 'alice'], { input: 'a\nb\nc\n' })
  assert.is(run.code, 1)
  assert.match(run.stderr, /standard input has 3 lines/)
  assert.is(await readFile(file, 'utf8'), after, 'a refused change leaves the file as it was')
})

test('mosquitto_sub ... | edgemq open works with the newline mosquitto_sub adds', async () => {
  const dir = bundle.dir
  const key = join(dir, 'cloud.key')
  assert.is((await runCli(bundle.main, ['keygen', '--type', 'box', '--out', key])).code, 0)
  const sealed = spawnSync('sh', ['-c', `printf '{"t":21.5}' | ${process.execPath} ${bundle.main} seal --to ${key}.pub > ${join(dir, 'reading.env')}`], { encoding: 'utf8' })
  assert.is(sealed.status, 0, sealed.stderr)
  const file = parseConfigText(`persistence: { path: ${join(dir, 'bdata')} }\ncontrol: { socket: ${join(dir, 'b.sock')} }\nboard: generic\nlisteners: [ { name: local, type: tcp, host: 127.0.0.1, port: 0 } ]\n`, join(dir, 'site.yaml'))
  const broker: EdgemqBroker = await startBroker((await resolveConfig({ file })).config, silentLogger, [])
  try {
    const port = broker.addresses()[0].port
    // subscriber first (-C 1: one message), then the envelope published as a file
    const pipeline = `mosquitto_sub -p ${port} -h 127.0.0.1 -t site17/sensors/t1 -C 1 -W 20 | ${process.execPath} ${bundle.main} open --key ${key}`
    const sub = new Promise<{ code: number | null, out: string, err: string }>((resolve) => {
      const c = spawn('sh', ['-c', pipeline], { env: { ...process.env, EDGEMQ_NO_REEXEC: '1' } })
      let out = ''; let err = ''
      c.stdout.on('data', (d) => { out += d }); c.stderr.on('data', (d) => { err += d })
      c.on('exit', (code) => resolve({ code, out, err }))
    })
    await new Promise((resolve) => setTimeout(resolve, 1000)) // mosquitto_sub subscribed
    // async: the broker runs in this process, a spawnSync would block it
    const pubCode = await new Promise<number | null>((resolve) => {
      spawn('mosquitto_pub', ['-p', String(port), '-h', '127.0.0.1', '-t', 'site17/sensors/t1', '-f', join(dir, 'reading.env')], { stdio: 'ignore' }).on('exit', resolve)
    })
    assert.is(pubCode, 0)
    const r = await sub
    assert.is(r.out, '{"t":21.5}', r.err)
    assert.is(r.code, 0, r.err)
  } finally {
    await broker.close()
  }
  // a tampered envelope with a newline is still refused
  const bytes = await readFile(join(dir, 'reading.env'))
  bytes[bytes.length - 3] ^= 1
  await writeFile(join(dir, 'bad.env'), Buffer.concat([bytes, Buffer.from('\n')]))
  const bad = spawnSync('sh', ['-c', `${process.execPath} ${bundle.main} open --key ${key} < ${join(dir, 'bad.env')}`], { encoding: 'utf8' })
  assert.is(bad.status, 1)
  assert.is(bad.stdout, '')
  assert.match(bad.stderr, /cannot open envelope/)
})

test.run()
