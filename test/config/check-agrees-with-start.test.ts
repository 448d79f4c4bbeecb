// `edgemq check` means `edgemq start` will work (issue 15): for every config
// of the broken-config collection, the built bundle's check and start both
// refuse, and both name every expected problem; for a good config, check says
// ok and start starts.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { chmod, mkdir, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { buildBundle, runCli, type BuiltBundle } from '../helpers/built-bundle.ts'
import { BROKEN_CONFIGS, GOOD_CONFIG, type BrokenConfig } from './broken-configs.ts'

let bundle: BuiltBundle
let n = 0
test.before(async () => { bundle = await buildBundle() })
test.after(async () => { await bundle.remove() })

async function writeCase (c: BrokenConfig): Promise<string> {
  const dir = join(bundle.dir, `case-${++n}`)
  await mkdir(dir)
  for (const [rel, f] of Object.entries(c.files ?? {})) {
    await mkdir(dirname(join(dir, rel)), { recursive: true })
    await writeFile(join(dir, rel), f.text)
    await chmod(join(dir, rel), f.mode ?? 0o600)
  }
  let yaml = c.yaml.replaceAll('$DIR', dir)
  if (!/^persistence:/m.test(yaml)) yaml += `persistence: { path: ${join(dir, 'data')} }\n`
  if (!/^listeners:/m.test(yaml)) yaml += 'listeners:\n  - { name: local, type: tcp, host: 127.0.0.1, port: 0 }\n'
  yaml += `control: { socket: ${join(dir, 'control.sock')} }\n`
  await writeFile(join(dir, 'edgemq.yaml'), yaml)
  return join(dir, 'edgemq.yaml')
}

for (const c of BROKEN_CONFIGS) {
  test(`check and start agree: ${c.name}`, async () => {
    const file = await writeCase(c)
    const check = await runCli(bundle.main, ['check', '-c', file])
    const start = await runCli(bundle.main, ['start', '-c', file])
    assert.is(start.started, false, `start started:\n${start.stderr}`)
    assert.is(start.code, 1, start.stderr)
    assert.is(check.code, 1, `check accepted a config start refuses:\n${check.stdout}${check.stderr}\n--- start said:\n${start.stderr}`)
    for (const e of c.expect) {
      assert.match(check.stderr, e, `check:\n${check.stderr}`)
      assert.match(start.stderr, e, `start:\n${start.stderr}`)
    }
    for (const out of [check.stderr, start.stderr]) assert.not.match(out, /\n\s+at /, 'no stack trace')
  })
}

test('check and start agree: a good config is ok and starts', async () => {
  const file = await writeCase(GOOD_CONFIG)
  const check = await runCli(bundle.main, ['check', '-c', file])
  assert.is(check.code, 0, check.stderr)
  assert.match(check.stdout, /config ok/)
  const start = await runCli(bundle.main, ['start', '-c', file])
  assert.ok(start.started, start.stderr)
})

test.run()
