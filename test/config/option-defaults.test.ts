// Each option's default exists in exactly one place, its row of the option
// table; the config types come from the same rows. Before this test,
// limits.maxQueuedMessages had three defaults (the table's 1000, a fallback of
// 1000 in limits-settings.ts and "absent = 0 = no cap" in level-store.ts), and
// a change to the table would have changed only some of them.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { OPTION_TABLE } from '../../src/config/option-table.ts'
import type { OptionSpec } from '../../src/config/option-spec.ts'
import { OPTION_TYPES_FILE, renderOptionTypes } from '../../src/config/render-option-types.ts'
import { resolveConfig } from '../../src/config/load-config.ts'
import { codeOnly, listSourceFiles, ROOT } from '../architecture/source-graph.ts'

/** Every option row with a default, fields of list options included. */
function optionsWithDefaults (table: readonly OptionSpec[]): OptionSpec[] {
  const out: OptionSpec[] = []
  for (const o of table) {
    if (o.default !== undefined && o.type !== 'list' && o.type !== 'object') out.push(o)
    if (o.fields !== undefined) out.push(...optionsWithDefaults(o.fields))
  }
  return out
}

// Files that define options (their rows hold the defaults) or are generated from them.
const isOptionTable = (file: string): boolean => /-options\.ts$|option-table\.ts$|option-types\.ts$|option-spec\.ts$/.test(file)

// A literal fallback: a number (maybe a product like 7 * 86_400_000), a boolean, [] or {}.
const LITERAL = String.raw`(?:-?[\d_.]+(?:\s*[*+]\s*[\d_.]+)*|true|false|\[\]|\{\})(?![\w.(])`

/** Reads of `name` with a literal fallback of their own: num(x.name, 5), x.name ?? 5, x.name || 5, typeof x.name === 'number' ? x.name : 5. */
export function fallbacksFor (name: string, source: string): string[] {
  const code = codeOnly(source)
  const ref = String.raw`[\w$?.\[\]]*\.${name}\b`
  const patterns = [
    new RegExp(String.raw`\b\w+\(\s*${ref}\s*,\s*${LITERAL}\s*\)`, 'g'),
    new RegExp(String.raw`${ref}\s*(?:\?\?|\|\|)\s*${LITERAL}`, 'g'),
    new RegExp(String.raw`typeof\s+${ref}\s*===\s*(?:'\w+')?\s*\?\s*${ref}\s*:\s*${LITERAL}`, 'g')
  ]
  return patterns.flatMap((re) => [...code.matchAll(re)].map((m) => source.slice(m.index, m.index + m[0].length).trim()))
}

// Reads whose name matches an option's but that are not that option, each with
// why; only hits matching `reads` are excused, the rest of the file is checked.
const NOT_OPTION_DEFAULTS: Record<string, { why: string, reads: RegExp }> = {
  'src/throttle/throttle.ts': { why: 'r is one listener\'s rates from throttle.listeners (an object option); absent means unlimited there', reads: /^r\./ },
  'src/persistence/level-persistence.ts': { why: 'the store\'s own constructor options (used alone by its tests): absent = no cap; the broker always passes the config value (src/persistence/level-store.ts)', reads: /^(s|options)\./ },
  'src/engine/create-engine.ts': { why: 'packet.protocolVersion of a CONNECT, not the bridge option', reads: /^packet\.protocolVersion/ },
  'src/engine/install-publish-encoder.ts': { why: 'opts.protocolVersion of mqtt-packet, not the bridge option', reads: /protocolVersion/ },
  'src/engine/check-connect.ts': { why: 'packet.protocolVersion of a CONNECT, not the bridge option', reads: /^packet\.protocolVersion/ },
  'src/protocol/connect-checks.ts': { why: 'packet.protocolVersion of a CONNECT, not the bridge option', reads: /^packet\.protocolVersion/ },
  'src/migrate/import-mosquitto.ts': { why: 'b.protocolVersion of a Mosquitto bridge section: Mosquitto\'s default (3.1.1) written into the imported config, not edgemq\'s', reads: /^b\.protocolVersion/ },
  'src/limits/tenant-quotas.ts': { why: 'raw is one group\'s record in limits.groupQuotas (an object option); absent means no cap there', reads: /^raw\./ }
}

test('no option default is written a second time as a fallback in src/', () => {
  // camelCase names only: one-word names (path, port, level) are too common to tell apart
  const names = [...new Set(optionsWithDefaults(OPTION_TABLE).map((o) => o.key.split('.').pop() as string).filter((n) => /[A-Z]/.test(n)))]
  const offenders: string[] = []
  for (const file of listSourceFiles()) {
    if (isOptionTable(file)) continue
    const source = readFileSync(join(ROOT, file), 'utf8')
    const excused = NOT_OPTION_DEFAULTS[file]
    for (const name of names) {
      const hits = fallbacksFor(name, source).filter((h) => excused === undefined || !excused.reads.test(h))
      if (hits.length > 0) offenders.push(`${file}: ${hits.join(' | ')}`)
    }
  }
  assert.equal(offenders, [], 'read the option from the loaded config (it has the table default); do not repeat the default')
})

test('the fallback finder sees the forms that repeated maxQueuedMessages', () => {
  assert.equal(fallbacksFor('maxQueuedMessages', 'maxQueuedMessages: num(l.maxQueuedMessages, 1000),'), ['num(l.maxQueuedMessages, 1000)'])
  assert.equal(fallbacksFor('maxQueuedMessages', 'const n = config.limits.maxQueuedMessages ?? 0'), ['config.limits.maxQueuedMessages ?? 0'])
  assert.equal(fallbacksFor('maxPacketSize', 'maxPacketSize: num(b.maxPacketSize, 1024 * 1024),'), ['num(b.maxPacketSize, 1024 * 1024)'])
  assert.equal(fallbacksFor('maxPacketSize', "num(b.maxPacketSize, optionDefault(BRIDGE_FIELDS, 'maxPacketSize'))"), [])
  assert.equal(fallbacksFor('burstSeconds', "typeof t.burstSeconds === 'number' ? t.burstSeconds : 1"), ["typeof t.burstSeconds === 'number' ? t.burstSeconds : 1"])
  assert.equal(fallbacksFor('maxQueuedMessages', 'return { maxMessages: config.limits.maxQueuedMessages }\n// was num(l.maxQueuedMessages, 1000)'), [])
})

test(`${OPTION_TYPES_FILE} is what the option table generates (npm run docs)`, () => {
  const onDisk = readFileSync(join(ROOT, OPTION_TYPES_FILE), 'utf8')
  assert.fixture(onDisk, renderOptionTypes(OPTION_TABLE), `${OPTION_TYPES_FILE} is stale: run npm run docs`)
})

test('the loaded default config has every defaulted option, with the type its row declares', async () => {
  const { config } = await resolveConfig({ flags: { board: 'generic' } })
  const problems: string[] = []
  for (const o of OPTION_TABLE) {
    if (o.type === 'list' || o.type === 'object') continue
    const value = o.key.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], config)
    if (o.default === undefined) continue
    const want = { string: 'string', path: 'string', int: 'number', number: 'number', size: 'number', duration: 'number', bool: 'boolean', enum: 'string', 'string[]': 'object', 'cidr[]': 'object' }[o.type]
    if (typeof value !== want) problems.push(`${o.key}: ${JSON.stringify(value)} is not a ${want}`)
    if (o.type === 'enum' && !(o.values ?? []).includes(value as string)) problems.push(`${o.key}: ${String(value)} is not one of ${(o.values ?? []).join(', ')}`)
  }
  assert.equal(problems, [])
})

test.run()
