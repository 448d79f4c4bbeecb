// docs/observability.md lists every metric (name, type, labels); this test
// reads that table and compares it with what a running broker's registry
// serves on /metrics, so the two cannot drift. It also checks that every
// metric of the catalogue has a reader (at least one sample) on a broker with
// a bridge, an https listener and a password file.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { makeTestPki } from '../auth/test-pki.ts'
import { removeDir, tempDir, writePasswords } from '../auth/security-broker.ts'
import { REPO_ROOT } from '../helpers/broker-process.ts'
import { freePort } from '../helpers/mosquitto-process.ts'
import { bearer, httpGet, startFullBroker, writeToken } from './http-fixtures.ts'

const test = suite('metrics documentation')

interface Row { name: string, type: string, labels: string[] }

/** The rows of the table between the metrics markers. */
async function documented (): Promise<Row[]> {
  const text = await readFile(join(REPO_ROOT, 'docs/observability.md'), 'utf8')
  const start = text.indexOf('<!-- metrics:start -->')
  const end = text.indexOf('<!-- metrics:end -->')
  assert.ok(start >= 0 && end > start, 'docs/observability.md has the metrics markers')
  const rows: Row[] = []
  for (const line of text.slice(start, end).split('\n')) {
    const m = /^\| `(edgemq_[a-z0-9_]+)` \| (counter|gauge|histogram|summary) \| ([^|]*) \|/.exec(line)
    if (m === null) continue
    const labels = m[3].trim() === '-' ? [] : m[3].split(',').map((l) => l.trim().replace(/`/g, ''))
    rows.push({ name: m[1], type: m[2], labels })
  }
  return rows
}

/** name → type and label names, from the HELP/TYPE lines and samples of a scrape. */
function served (text: string): Map<string, { type: string, labels: Set<string>, samples: number }> {
  const out = new Map<string, { type: string, labels: Set<string>, samples: number }>()
  for (const line of text.split('\n')) {
    const t = /^# TYPE (\S+) (\S+)$/.exec(line)
    if (t !== null) { out.set(t[1], { type: t[2], labels: new Set(), samples: 0 }); continue }
    if (line.startsWith('#') || line.trim() === '') continue
    const s = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})? /.exec(line)
    if (s === null) continue
    const e = out.get(s[1])
    if (e === undefined) continue
    e.samples++
    for (const pair of (s[2] ?? '').match(/[a-zA-Z_]\w*(?==")/g) ?? []) e.labels.add(pair)
  }
  return out
}

test('the table in docs/observability.md equals the registry: names, types and labels, nothing missing, nothing extra; every metric has a reader', async () => {
  const dir = await tempDir()
  try {
    const pki = await makeTestPki(dir)
    const t = await writeToken(dir)
    const passwords = await writePasswords(dir, { grafana: 'pw-grafana' })
    const gw = await startFullBroker(`listeners:
  - { name: mqtt, type: tcp, host: 127.0.0.1, port: 0 }
  - { name: web, type: https, host: 127.0.0.1, port: 0, cert: ${pki.server.cert}, key: ${pki.server.key}, tokenFile: ${t.path} }
auth: { passwordFile: ${passwords} }
bridges:
  - name: cloud
    url: mqtts://127.0.0.1:${await freePort()}
    tls: { ca: ${pki.ca} }
    topics: [{ filter: a/#, direction: out, qos: 1 }]
`, dir)
    try {
      const ca = await readFile(pki.ca)
      await httpGet(gw.port('web'), '/health/live', { ca }) // one answered request before the scrape
      const r = await httpGet(gw.port('web'), '/metrics', { headers: bearer(t.token), ca })
      assert.is(r.status, 200)
      const live = served(r.body)
      const rows = await documented()
      assert.ok(rows.length >= 40, `the table has ${rows.length} rows`)
      const names = rows.map((row) => row.name)
      assert.equal([...live.keys()].filter((n) => !names.includes(n)), [], 'metrics served but not documented')
      assert.equal(names.filter((n) => !live.has(n)), [], 'metrics documented but not served')
      for (const row of rows) {
        const e = live.get(row.name)!
        assert.is(e.type, row.type, `${row.name}: type`)
        assert.ok(e.samples > 0, `${row.name}: no sample (no part reads it)`)
        // every sample carries exactly the documented labels
        assert.equal([...e.labels].sort(), [...row.labels].sort(), `${row.name}: labels`)
      }
      assert.is(new Set(names).size, names.length, 'no metric listed twice')
    } finally {
      await gw.stop()
    }
  } finally {
    await removeDir(dir)
  }
})

test('every name follows the Prometheus conventions: edgemq_ prefix, counters end in _total, no unit-less durations or sizes', async () => {
  for (const row of await documented()) {
    assert.match(row.name, /^edgemq_[a-z0-9_]+$/, row.name)
    if (row.type === 'counter') assert.match(row.name, /_total$/, row.name)
    else assert.not.match(row.name, /_total$/, row.name)
    assert.not.match(row.name, /_(ms|milliseconds|kb|mb|mib|kib)(_|$)/, `${row.name}: base units only (seconds, bytes)`)
  }
})

test.run()
