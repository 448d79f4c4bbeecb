// Canary of src/observability/prom-client-core.ts: the classes imported from
// prom-client's own files are the ones its index exports (an upgrade that
// moves or copies them fails here), and a registry built from them renders
// the exposition format.
import { createRequire } from 'node:module'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Counter, Gauge, Registry } from '../../src/observability/prom-client-core.ts'

const require = createRequire(import.meta.url)

test('Registry, Counter and Gauge are the classes prom-client\'s index exports', () => {
  const index = require('prom-client') as { Registry: unknown, Counter: unknown, Gauge: unknown }
  assert.is(Registry, index.Registry)
  assert.is(Counter, index.Counter)
  assert.is(Gauge, index.Gauge)
})

test('a registry of them renders counters and gauges', async () => {
  const registry = new Registry()
  const c = new Counter({ name: 'canary_total', help: 'c', labelNames: ['k'], registers: [registry] })
  const g = new Gauge({ name: 'canary_now', help: 'g', registers: [registry] })
  c.inc({ k: 'a' }, 2)
  g.set(5)
  const text = await registry.metrics()
  assert.match(text, /canary_total\{k="a"\} 2/)
  assert.match(text, /canary_now 5/)
})

test.run()
