// Reload (SIGHUP): unchanged bridges keep their connection, changed ones
// reconnect with their queue, removed ones stop, and a reload with an
// unreadable file fails and changes nothing.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseConfigText } from '../../src/config/config-file.ts'
import { resolveConfig } from '../../src/config/load-config.ts'
import type { EdgemqConfig } from '../../src/config/types.ts'
import { isEdgemqError } from '../../src/errors.ts'
import { MosquittoProcess } from '../helpers/mosquitto-process.ts'
import { startGateway, waitFor } from './bridge-fixtures.ts'

const R = suite('bridge reload')
let dir: string
let mosq: MosquittoProcess
R.before(async () => { dir = await mkdtemp(join(tmpdir(), 'edgemq-bridge-reload-')); mosq = await MosquittoProcess.start() })
R.after(async () => { await mosq?.dispose(); await rm(dir, { recursive: true, force: true }) })

const yaml = (bridges: string): string => `
listeners:
  - { name: tcp, type: tcp, host: 127.0.0.1, port: 0 }
persistence: { path: ${join(dir, 'data')} }
bridges:
${bridges}`
const bridge = (name: string, extra = ''): string => `  - { name: ${name}, url: "mqtt://127.0.0.1:${mosq.port}", clientId: gw-${name}, topics: [{ filter: "${name}/#" }]${extra} }\n`

async function load (text: string): Promise<EdgemqConfig> {
  return (await resolveConfig({ file: parseConfigText(text, join(dir, 'edgemq.yaml')), flags: { board: 'generic' } })).config
}

R('unchanged bridges keep their connection; changed ones reconnect; removed ones stop; new ones start', async () => {
  const gw = await startGateway(yaml(bridge('a') + bridge('b') + bridge('c')))
  try {
    const byName = (n: string): ReturnType<ReturnType<typeof gw.bridges>['status']>[number] | undefined => gw.bridges().status().find((s) => s.name === n)
    await waitFor(() => gw.bridges().status().every((s) => s.connected), 10_000, 'three bridges to connect')
    await gw.bridges().reload(await load(yaml(bridge('a') + bridge('b', ', keepalive: 30s') + bridge('d'))))
    await waitFor(() => byName('d')?.connected === true && byName('b')?.connected === true, 10_000, 'b and d to connect')
    assert.is(byName('a')?.counters.connects, 1, 'a was not touched')
    assert.is(byName('c'), undefined, 'c is gone')
    assert.equal(gw.bridges().status().map((s) => s.name), ['a', 'b', 'd'])
  } finally {
    await gw.stop()
  }
})

R('a reload whose password file is missing fails and changes nothing', async () => {
  await writeFile(join(dir, 'pass'), 'x\n')
  const gw = await startGateway(yaml(bridge('e', `, auth: { username: u, passwordFile: ${join(dir, 'pass')} }`)))
  try {
    await waitFor(() => gw.bridges().status()[0].connected, 10_000, 'the bridge to connect')
    try {
      await gw.bridges().reload(await load(yaml(bridge('e', `, auth: { username: u, passwordFile: ${join(dir, 'nope')} }`) + bridge('f'))))
      assert.unreachable('the reload succeeded')
    } catch (err) {
      assert.ok(isEdgemqError(err, 'EDGEMQ_ERR_BRIDGE_FAILED'), String(err))
      assert.match((err as Error).message, /cannot read auth\.passwordFile .*nope/)
    }
    const s = gw.bridges().status()
    assert.equal(s.map((b) => b.name), ['e'], 'no bridge added')
    assert.is(s[0].connected, true)
    assert.is(s[0].counters.connects, 1, 'the running bridge was not restarted')
  } finally {
    await gw.stop()
  }
})

R.run()
