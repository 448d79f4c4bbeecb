// edgemq audit's bridge checks, on configs as an operator writes them.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { auditConfig } from '../../src/audit/audit-config.ts'
import { loadEffectiveConfig } from '../../src/cli/load-effective-config.ts'

async function checksOf (yaml: string): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'edgemq-audit-bridges-'))
  try {
    await writeFile(join(dir, 'pw'), 'secret\n', { mode: 0o600 })
    const path = join(dir, 'edgemq.yaml')
    await writeFile(path, yaml.replaceAll('PWFILE', join(dir, 'pw')) + `persistence: { path: ${JSON.stringify(join(dir, 'data'))} }\n`)
    const { config } = await loadEffectiveConfig(path, {})
    return (await auditConfig(config)).filter((f) => f.check.startsWith('bridge-')).map((f) => `${f.severity} ${f.check} ${f.where}`)
  } finally { await rm(dir, { recursive: true, force: true }) }
}

const rule = 'topics: [ { filter: "s/#", direction: out, qos: 1 } ]'

test('a bridge to a remote host without TLS is a high finding; to loopback it is not', async () => {
  assert.equal(await checksOf(`bridges:\n  - { name: cloud, url: "mqtt://broker.example.com:1883", ${rule} }\n`), ['high bridge-plaintext bridges[0] (cloud)'])
  assert.equal(await checksOf(`bridges:\n  - { name: local, url: "mqtt://127.0.0.1:1884", ${rule} }\n`), [])
})

test('TLS without certificate verification is a high finding', async () => {
  const found = await checksOf(`bridges:\n  - { name: cloud, url: "mqtts://broker.example.com:8883", tls: { rejectUnauthorized: false }, ${rule} }\n`)
  assert.equal(found, ['high bridge-tls-unverified bridges[0] (cloud)'])
})

test('credentials in the config never reach audit: the config refuses them', async () => {
  for (const bad of [`url: "mqtts://user:pw@broker.example.com:8883"`, `url: "mqtts://broker.example.com:8883", auth: { username: gw, password: pw }`]) {
    const refused = await checksOf(`bridges:\n  - { name: cloud, ${bad}, ${rule} }\n`).then(() => 'accepted', (err: Error) => err.message)
    assert.match(refused, /bridges\[0\]/)
  }
})

test('a verified TLS bridge with a password file and a bounded queue has no finding', async () => {
  assert.equal(await checksOf(`bridges:\n  - { name: cloud, url: "mqtts://broker.example.com:8883", auth: { username: gw, passwordFile: PWFILE }, queue: { maxBytes: 64MB }, ${rule} }\n`), [])
})

test.run()
