// Command line and result table of the harness (pure parts).
// (part of `npm test`; alone: node test/run.mjs test/bench/bench-options.test.ts)
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { FULL_COUNTS, QUICK_COUNTS, SCENARIOS, parseBenchArgs } from './bench-options.ts'
import { buildRows, formatTable, median } from './results-table.ts'

test('defaults: full mode, every scenario, edgemq against mosquitto, generic-x64', () => {
  const o = parseBenchArgs([])
  assert.is(o.quick, false)
  assert.equal(o.scenarios, [...SCENARIOS])
  assert.equal(o.brokers, ['edgemq', 'mosquitto'])
  assert.is(o.board, 'generic-x64')
  assert.is(o.repeat, 1)
})

test('--only keeps the run order whatever order it was given in', () => {
  assert.equal(parseBenchArgs(['--only', 'drain,idle', '--only', 'latency']).scenarios, ['idle', 'latency', 'drain'])
})

test('rejects unknown scenarios, brokers and options, and a run without mosquitto', () => {
  assert.throws(() => parseBenchArgs(['--only', 'fanin']), /unknown scenario "fanin"; use one of idle, fan-in/)
  assert.throws(() => parseBenchArgs(['--brokers', 'edgemq,nanomq']), /unknown broker "nanomq"/)
  assert.throws(() => parseBenchArgs(['--brokers', 'edgemq,aedes']), /must include mosquitto/)
  assert.throws(() => parseBenchArgs(['--fast']), /unknown option "--fast"/)
  assert.throws(() => parseBenchArgs(['--board']), /--board needs a value/)
  assert.throws(() => parseBenchArgs(['--repeat', '0']), /--repeat must be an integer 1-9: got "0"/)
})

test('ratios are to mosquitto; targets read in the right direction; medians of repeated runs', () => {
  const rows = buildRows({
    'fanIn0.rate': { edgemq: [90, 130, 110], mosquitto: [100, 100, 100] },
    'latency.p99': { edgemq: [3], mosquitto: [2] },
    'idle.kibPerConn10k': { edgemq: [3.5], mosquitto: [0.7] }
  }, ['edgemq', 'mosquitto'])
  const byKey = Object.fromEntries(rows.map((r) => [r.key, r]))
  assert.is(byKey['fanIn0.rate'].values.edgemq, 110)
  assert.is(byKey['fanIn0.rate'].ratios.edgemq, 1.1)
  assert.is(byKey['fanIn0.rate'].meetsTarget, true)
  assert.equal(byKey['fanIn0.rate'].runs?.edgemq, [90, 130, 110])
  assert.is(byKey['latency.p99'].meetsTarget, false) // 1.5x slower than mosquitto, target <= 1.0x
  assert.is(byKey['idle.kibPerConn10k'].meetsTarget, true) // absolute bound 4 KiB
  assert.is(median([4, 1, 3, 2]), 2.5)
  const table = formatTable(rows, ['edgemq', 'mosquitto'])
  assert.match(table, /fan-in QoS 0 \(50->1\)\s+msg\/s\s+110\s+100\s+1\.10x\s+>= 1\.0x\s+ok/)
  assert.match(table, /p99\s+ms\s+3\.00\s+2\.00\s+1\.50x\s+<= 1\.0x\s+MISS/)
})

test("issue 11's shapes in both modes: 500 sessions x 100 queued, 100k for the restart, 100 sensors at 1 msg/s", () => {
  for (const c of [QUICK_COUNTS, FULL_COUNTS]) {
    assert.is(c.drainSessions, 500)
    assert.is(c.drainMessages, 500 * 100)
    assert.is(c.restartMessages, 100_000)
    assert.ok(c.restartRounds >= 3, 'the restart figure is a median of at least 3')
    assert.is(c.sensors, 100)
    assert.is(c.sensorRate, 1)
  }
  assert.ok(FULL_COUNTS.sensorWindowMs >= 300_000, 'the full window spans a memtable flush of an 8 MB write buffer at 100 msg/s')
  assert.equal(parseBenchArgs(['--only', 'wear,restart']).scenarios, ['restart', 'wear'])
})

test.run()
