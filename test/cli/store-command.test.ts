// `edgemq store check|compact|export|import` on real stores made by a real
// broker: the counts match what the broker holds, check works beside a
// running broker, and an export imported on "another gateway" keeps the
// persistent session, its queued messages and a sublevel (the bridge queue's
// kind of record).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { connect, connectAsync, type MqttClient } from 'mqtt'
import { main } from '../../src/cli/run-cli.ts'
import { startBrokerInProcess, type InProcessBroker } from '../helpers/broker-process.ts'
import type { AttachPart } from '../../src/broker.ts'
import { PARTS } from '../../src/parts.ts'

// A part that writes one record in a sublevel, as the bridge's disk queue does.
const writeSublevel: AttachPart = async (ctx) => { await ctx.store.sublevel('bridge-up').put('k1', Buffer.from('v1')); return {} }

async function run (args: string[], stdinText?: string): Promise<{ code: number, out: string, err: string }> {
  const stdout = new PassThrough(); const stderr = new PassThrough(); const stdin = new PassThrough()
  let out = ''; let err = ''
  stdout.on('data', (d) => { out += d }); stderr.on('data', (d) => { err += d })
  if (stdinText !== undefined) stdin.end(stdinText)
  const code = await main(args, { stdout, stderr, stdin, env: { ...process.env } })
  return { code, out, err }
}

let dir = ''
test.before(async () => { dir = await mkdtemp(join(tmpdir(), 'edgemq-store-cli-')) })
test.after(async () => { await rm(dir, { recursive: true, force: true }) })

const yamlFor = (path: string): string => `listeners:\n  - { name: t, type: tcp, host: 127.0.0.1, port: 0 }\npersistence: { path: ${path} }\n`

async function makeStore (path: string, running: (b: InProcessBroker) => Promise<void> = async () => {}): Promise<void> {
  const b = await startBrokerInProcess(yamlFor(path), { parts: [...PARTS, writeSublevel] })
  const clients: MqttClient[] = []
  try {
    const sub = await connectAsync(`mqtt://127.0.0.1:${b.port}`, { clientId: 'swap-sub', clean: false, reconnectPeriod: 0 })
    await sub.subscribeAsync('swap/#', { qos: 1 })
    await sub.endAsync()
    const pub = await connectAsync(`mqtt://127.0.0.1:${b.port}`, { clientId: 'swap-pub', reconnectPeriod: 0 })
    clients.push(pub)
    for (let i = 0; i < 5; i++) await pub.publishAsync('swap/t', `q${i}`, { qos: 1 })
    await pub.publishAsync('swap/retained', 'kept', { qos: 1, retain: true })
    await running(b)
  } finally {
    for (const c of clients) c.end(true)
    await b.broker.close()
  }
}

test('check counts what the broker stored, beside a running broker too', async () => {
  const path = join(dir, 'a')
  let live: { code: number, out: string } | undefined
  await makeStore(path, async () => { live = await run(['store', 'check', '--path', path, '--json']) })
  assert.is(live?.code, 0)
  const during = JSON.parse(live!.out)
  assert.ok(during.readFromCopy, 'a running broker holds the store: check reads a copy')
  const r = await run(['store', 'check', '--path', path, '--json'])
  assert.is(r.code, 0, r.err)
  const report = JSON.parse(r.out)
  assert.is(report.readFromCopy, false)
  assert.is(report.counts.outgoing, 6) // 5 + the retained one, all queued for swap-sub (swap/#)
  assert.is(report.counts.subscriptions, 1)
  assert.ok(report.counts.retained >= 1) // swap/retained, beside the broker's own retained $SYS values
  assert.is(report.sessions, 1)
  assert.is(report.quarantined, 0)
  assert.is(report.orphanedStates, 0)
  assert.ok(report.bytesOnDisk > 0)
  assert.equal(report.movedAside, [])
  const text = await run(['store', 'check', '--path', path])
  assert.match(text.out, /persistent sessions\s+1/)
})

test('export then import into a new path: the session gets its 6 queued messages on the new gateway, the retained message and the sublevel are there', async () => {
  const path = join(dir, 'old')
  await makeStore(path)
  const file = join(dir, 'swap.jsonl')
  const ex = await run(['store', 'export', '--path', path, '-o', file])
  assert.is(ex.code, 0, ex.err)
  const lines = (await readFile(file, 'utf8')).trim().split('\n')
  assert.is(JSON.parse(lines[0]).format, 'edgemq-store')
  const target = join(dir, 'new')
  const im = await run(['store', 'import', '--path', target, '-i', file])
  assert.is(im.code, 0, im.err)
  assert.match(im.out, new RegExp(`imported ${lines.length - 1} records`))
  const again = await run(['store', 'import', '--path', target, '-i', file])
  assert.is(again.code, 1)
  assert.match(again.err, /not empty/)

  const b = await startBrokerInProcess(yamlFor(target))
  const got: string[] = []
  const back = connect(`mqtt://127.0.0.1:${b.port}`, { clientId: 'swap-sub', clean: false, reconnectPeriod: 0 })
  back.on('message', (topic, payload) => { got.push(`${topic}=${payload.toString()}`) })
  try {
    const deadline = Date.now() + 10_000
    while (got.length < 6 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
    assert.equal(got, [...['q0', 'q1', 'q2', 'q3', 'q4'].map((p) => `swap/t=${p}`), 'swap/retained=kept'])
    const check = JSON.parse((await run(['store', 'check', '--path', target, '--json'])).out)
    assert.is(check.counts['sublevel:bridge-up'], 1)
    assert.ok(check.counts.retained >= 1)
  } finally {
    back.end(true)
    await b.broker.close()
  }
})

test('import refuses a damaged export with the line number and leaves nothing behind', async () => {
  const bad = join(dir, 'bad.jsonl')
  await writeFile(bad, '{"format":"edgemq-store","version":1,"exportedAt":"x","records":2}\n{"k":"AA==","v":"AA=="}\nnot json\n')
  const target = join(dir, 'bad-target')
  const r = await run(['store', 'import', '--path', target, '-i', bad])
  assert.is(r.code, 1)
  assert.match(r.err, /line 3: not JSON/)
  const check = await run(['store', 'check', '--path', target])
  assert.is(check.code, 1, 'no half-imported store left behind')
})

test('compact and export refuse a store a running broker holds, and say to stop it', async () => {
  const path = join(dir, 'held')
  let r: { code: number, err: string } | undefined
  await makeStore(path, async () => { r = await run(['store', 'compact', '--path', path]) })
  assert.is(r?.code, 1)
  assert.match(r!.err, /held by a running broker: stop it first/)
})

test.run()
