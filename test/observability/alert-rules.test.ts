// docs/prometheus-alerts.yml: the structure Prometheus's rule loader expects
// (promtool is not available here, so its checks are done by hand), the four
// alerts the issue asks for, and every metric an expression names exists in
// the registry's catalogue.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parse } from 'yaml'
import { METRICS } from '../../src/observability/metric-catalogue.ts'
import { REPO_ROOT } from '../helpers/broker-process.ts'

const test = suite('prometheus alert rules')

interface Rule { alert?: string, record?: string, expr?: unknown, for?: unknown, labels?: Record<string, unknown>, annotations?: Record<string, unknown>, [k: string]: unknown }

const load = async (): Promise<{ groups: Array<{ name: string, rules: Rule[], [k: string]: unknown }> }> => parse(await readFile(join(REPO_ROOT, 'docs/prometheus-alerts.yml'), 'utf8'))

test('has the rule-file structure: groups with unique names, rules with alert, expr, a duration for, string labels and annotations', async () => {
  const doc = await load()
  assert.equal(Object.keys(doc), ['groups'])
  assert.ok(Array.isArray(doc.groups) && doc.groups.length > 0)
  const groupNames = new Set<string>()
  const alertNames = new Set<string>()
  for (const g of doc.groups) {
    assert.type(g.name, 'string')
    assert.ok(!groupNames.has(g.name), `group ${g.name} twice`)
    groupNames.add(g.name)
    for (const k of Object.keys(g)) assert.ok(['name', 'interval', 'rules', 'limit'].includes(k), `group key ${k}`)
    for (const r of g.rules) {
      for (const k of Object.keys(r)) assert.ok(['alert', 'expr', 'for', 'keep_firing_for', 'labels', 'annotations'].includes(k), `rule key ${k}`)
      assert.type(r.alert, 'string')
      assert.match(r.alert!, /^[A-Za-z_][A-Za-z0-9_]*$/)
      alertNames.add(r.alert!)
      assert.type(r.expr, 'string')
      assert.ok((r.expr as string).trim().length > 0)
      assert.match(String(r.for), /^\d+(ms|s|m|h|d)$/, `${r.alert}: for`)
      for (const v of Object.values(r.labels ?? {})) assert.type(v, 'string')
      for (const v of Object.values(r.annotations ?? {})) assert.type(v, 'string')
      assert.type(r.annotations?.summary, 'string', `${r.alert}: summary`)
      // balanced brackets in the expression and the templates
      const text = `${r.expr as string} ${Object.values(r.annotations ?? {}).join(' ')}`
      for (const [o, c] of [['(', ')'], ['[', ']'], ['{{', '}}']]) assert.is(text.split(o).length, text.split(c).length, `${r.alert}: ${o}${c} balanced`)
    }
  }
  for (const wanted of ['EdgemqBridgeQueueGrowing', 'EdgemqNotReady', 'EdgemqMemoryAboveSoftMark', 'EdgemqCertificateExpiresSoon']) assert.ok(alertNames.has(wanted), wanted)
})

test('every edgemq_ metric in an expression is in the catalogue; the certificate alert looks 14 days ahead', async () => {
  const known = new Set(METRICS.map((m) => m.name))
  const doc = await load()
  for (const r of doc.groups.flatMap((g) => g.rules)) {
    for (const name of (r.expr as string).match(/edgemq_[a-z0-9_]+/g) ?? []) assert.ok(known.has(name), `${r.alert ?? ''}: ${name} is no metric`)
  }
  const cert = doc.groups.flatMap((g) => g.rules).find((r) => r.alert === 'EdgemqCertificateExpiresSoon')
  assert.match(String(cert?.expr), /14 \* 86400/)
})

test('docs/grafana-dashboard.json: a Grafana dashboard whose panels query only catalogue metrics', async () => {
  const dash = JSON.parse(await readFile(join(REPO_ROOT, 'docs/grafana-dashboard.json'), 'utf8')) as { title: string, uid: string, schemaVersion: number, panels: Array<{ id: number, type: string, title: string, gridPos: object, targets?: Array<{ expr: string }> }> }
  const known = new Set(METRICS.map((m) => m.name))
  assert.type(dash.title, 'string')
  assert.type(dash.schemaVersion, 'number')
  const ids = dash.panels.map((p) => p.id)
  assert.is(new Set(ids).size, ids.length, 'panel ids unique')
  const queried = new Set<string>()
  for (const p of dash.panels) {
    assert.type(p.gridPos, 'object', p.title)
    for (const t of p.targets ?? []) for (const name of t.expr.match(/edgemq_[a-z0-9_]+/g) ?? []) { assert.ok(known.has(name), `${p.title}: ${name}`); queried.add(name) }
  }
  for (const wanted of ['edgemq_ready', 'edgemq_bridge_queue_messages', 'edgemq_memory_used_bytes', 'edgemq_certificate_expiry_timestamp_seconds', 'edgemq_connections']) assert.ok(queried.has(wanted), wanted)
})

test.run()
