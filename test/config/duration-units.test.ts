// Durations need their unit (issue 15: `drainTimeout: 30`, `sessionExpiryMax: 7`
// and `sys.interval: 10` were accepted as milliseconds without a word, while
// other keys refused the same mistake). Every duration option, a bridge's too,
// refuses a bare number other than 0 with file:line, key, value and the fix,
// and `edgemq config` prints durations with their unit.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { PassThrough } from 'node:stream'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseConfigText } from '../../src/config/config-file.ts'
import { resolveConfig } from '../../src/config/load-config.ts'
import { main } from '../../src/cli/run-cli.ts'

async function problemsOf (yaml: string): Promise<string[]> {
  try {
    await resolveConfig({ file: parseConfigText(yaml, 'site.yaml') })
    return []
  } catch (err) {
    return [...((err as { problems?: string[] }).problems ?? [(err as Error).message])]
  }
}

test('the issue\'s three bare numbers are refused with the key, the value, the fix and the line', async () => {
  const problems = await problemsOf('limits:\n  drainTimeout: 30\n  sessionExpiryMax: 7\nsys:\n  interval: 10\n')
  assert.is(problems.length, 3, problems.join('\n'))
  const of = (key: string): string => problems.find((p) => p.startsWith(key)) ?? `(no problem for ${key})`
  assert.match(of('limits.drainTimeout'), /limits\.drainTimeout must be a duration with its unit: write 30ms, 30s, 30m or 30h .*got 30 \(site\.yaml:2\)/)
  assert.match(of('limits.sessionExpiryMax'), /limits\.sessionExpiryMax .*write 7ms, 7s.*\(site\.yaml:3\)/)
  assert.match(of('sys.interval'), /sys\.interval .*write 10ms, 10s.*\(site\.yaml:5\)/)
})

test('a bare number in a string, a bridge keepalive and a reconnect delay are refused too; units and 0 are fine', async () => {
  assert.match((await problemsOf('limits: { connectTimeout: "5000" }\n')).join('\n'), /limits\.connectTimeout must be a duration with its unit/)
  const bridge = (extra: string): string => `bridges:\n  - { name: cloud, url: "mqtt://127.0.0.1:1", topics: [ { filter: "s/#", direction: out } ]${extra} }\n`
  assert.match((await problemsOf(bridge(', keepalive: 30'))).join('\n'), /keepalive must be a duration with its unit/)
  assert.match((await problemsOf(bridge(', reconnect: { initialDelay: 500 }'))).join('\n'), /reconnect\.initialDelay must be a duration with its unit/)
  assert.equal(await problemsOf(`limits: { drainTimeout: 30s, sessionExpiryMax: 7d, connectTimeout: 250ms }\nsys: { interval: 0 }\n${bridge(', keepalive: 30s')}`), [])
})

test('edgemq config prints durations and sizes with their units', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'edgemq-dur-'))
  try {
    await writeFile(join(dir, 'site.yaml'), 'limits: { drainTimeout: 45s, sessionExpiryMax: 7d }\n')
    const out = new PassThrough(); let text = ''
    out.on('data', (d) => { text += d })
    assert.is(await main(['config', '-c', join(dir, 'site.yaml')], { stdout: out, stderr: new PassThrough(), stdin: new PassThrough(), env: {} }), 0)
    assert.match(text, /^limits\.drainTimeout = 45s {4}# file/m)
    assert.match(text, /^limits\.sessionExpiryMax = 7d /m)
    assert.match(text, /^limits\.maxPacketSize = 256KB /m)
    assert.match(text, /^limits\.maxConnections = 10000 connections /m)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test.run()
