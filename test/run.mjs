// Runs the whole default suite: the type check, then every test/**/*.test.ts
// file in its own Node process (so one file's crash or leak cannot hide
// another's result), two at a time (the gateways and CI have 2 cores).
// uvu prints totals per file; this adds them up and ends with one line
// `N passed, N failed`, which CI reads.
//
//   node test/run.mjs                    the default suite
//   node test/run.mjs test/config        only files under a path (or a file)
//   EDGEMQ_TEST_JOBS=1 node test/run.mjs one file at a time
import { spawn } from 'node:child_process'
import { readdir, stat } from 'node:fs/promises'
import { join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ensurePackages } from './system/ensure-packages.mjs'

const root = resolve(fileURLToPath(import.meta.url), '../..')
// Suites that need more than the default machine gives, or more time than CI
// allows in the default run, live here and have their own npm scripts. The
// benchmark's scenarios are not *.test.ts files (npm run bench runs them); its
// unit tests (option parsing, the wire codec, the /proc readers) run here.
const EXCLUDED = ['test/firmware']
const FILE_TIMEOUT_MS = Number(process.env.EDGEMQ_TEST_FILE_TIMEOUT_MS ?? 300_000)
const JOBS = Number(process.env.EDGEMQ_TEST_JOBS ?? 2)

const only = process.argv.slice(2).map((p) => resolve(p))
const started = Date.now()
let passed = 0
let failed = 0
let skipped = 0
const failures = []

// The system packages first (test/system/packages.json): installed here when
// root on Debian, or a stop at once with the command to run.
const system = ensurePackages()
if (!system.ok) {
  console.error(`edgemq tests: ${system.message}`)
  console.log('0 passed, 1 failed')
  process.exit(1)
}

const typecheck = await runProcess('typecheck (tsc --noEmit)', process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', root])
if (typecheck.code === 0) passed += 1
else { failed += 1; failures.push(typecheck) }
report(typecheck, typecheck.code === 0 ? 'ok' : 'FAILED')

const files = (await findTests(join(root, 'test'))).filter((f) => only.length === 0 || only.some((o) => f === o || f.startsWith(o + '/')))
const queue = [...files]
await Promise.all(Array.from({ length: Math.max(1, JOBS) }, async () => {
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    const result = await runProcess(relative(root, file), process.execPath, ['--import', 'tsx', file])
    const totals = parseTotals(result.output)
    if (totals === undefined) {
      failed += 1
      failures.push(result)
      report(result, `FAILED (no uvu totals; exit ${result.code}${result.timedOut ? ', timed out' : ''})`)
      continue
    }
    passed += totals.passed
    failed += totals.total - totals.passed // uvu's Total leaves skipped tests out
    const bad = result.code !== 0 || totals.passed < totals.total
    if (bad) {
      if (totals.passed === totals.total) failed += 1 // exited non-zero after its tests
      failures.push(result)
    }
    report(result, `${totals.passed}/${totals.total}${totals.skipped > 0 ? ` (${totals.skipped} skipped)` : ''}${bad ? ' FAILED' : ''}`)
    // A skipped test is not a pass: say so, with the reason the file printed.
    if (totals.skipped > 0) {
      const reasons = result.output.split('\n').filter((l) => /^\s*skipped\b(?!:\s*\d)/i.test(l))
      for (const r of reasons.length > 0 ? reasons : ['skipped (no reason printed)']) console.log(`             ${r.trim()}`)
      skipped += totals.skipped
    }
  }
}))

for (const f of failures) {
  process.stdout.write(`\n===== ${f.name} (exit ${f.code}${f.timedOut ? ', timed out' : ''}) =====\n${f.output.slice(-20_000)}\n`)
}
console.log(`\n${files.length} files in ${((Date.now() - started) / 1000).toFixed(1)} s`)
if (skipped > 0) console.log(`${skipped} skipped (not counted as passed)`)
console.log(`${passed} passed, ${failed} failed`)
process.exit(failed === 0 ? 0 : 1)

function report (result, status) {
  console.log(`${status.padEnd(12)} ${result.name} (${(result.ms / 1000).toFixed(1)} s)`)
}

async function findTests (dir) {
  const out = []
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    // An excluded folder runs only when named (npm run test:firmware names test/firmware).
    if (EXCLUDED.some((e) => path === join(root, e)) && !only.some((o) => o === path || o.startsWith(path + '/'))) continue
    if (entry.isDirectory()) out.push(...await findTests(path))
    else if (entry.name.endsWith('.test.ts')) out.push(path)
  }
  return out.sort()
}

function parseTotals (output) {
  // uvu's summary: "Total: N", "Passed: N", "Skipped: N"
  const clean = output.replace(/\x1b\[[0-9;]*m/g, '')
  const num = (label) => [...clean.matchAll(new RegExp(`^\\s*${label}:\\s+(\\d+)`, 'gm'))].map((m) => Number(m[1]))
  const total = num('Total'); const pass = num('Passed'); const skip = num('Skipped')
  if (total.length === 0) return undefined
  const sum = (xs) => xs.reduce((a, b) => a + b, 0)
  return { total: sum(total), passed: sum(pass), skipped: sum(skip) }
}

function runProcess (name, command, args) {
  return new Promise((resolvePromise) => {
    const t0 = Date.now()
    const child = spawn(command, args, {
      cwd: root,
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true
    })
    let output = ''
    child.stdout.on('data', (d) => { output += d })
    child.stderr.on('data', (d) => { output += d })
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      try { process.kill(-child.pid, 'SIGKILL') } catch {}
    }, FILE_TIMEOUT_MS)
    child.on('close', (code) => {
      clearTimeout(timer)
      // Anything the file left running (a broker, a mosquitto) goes with it.
      try { process.kill(-child.pid, 'SIGKILL') } catch {}
      resolvePromise({ name, code: code ?? 1, output, timedOut, ms: Date.now() - t0 })
    })
  })
}
