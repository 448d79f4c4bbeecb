// `npm run bench`: every scenario against edgemq and Mosquitto (and plain
// aedes when asked) in one run, brokers on core 0 and the load generator on
// core 1, then a table of ratios to Mosquitto and a JSON file of everything.
// See docs/bench.md.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { mkdir, mkdtemp, writeFile, statfs } from 'node:fs/promises'
import { cpus, loadavg, release, tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { FULL_COUNTS, QUICK_COUNTS, USAGE, parseBenchArgs, type BenchOptions, type ScenarioName } from './bench-options.ts'
import { BrokerProcess } from './broker-process.ts'
import { MOSQUITTO_PATH, checkAvailable, isEdgemq, prepareLaunch, scenariosOf, type BrokerKind, type LaunchContext } from './broker-kinds.ts'
import { LoadClient } from './load-client.ts'
import { atReap, reapAll } from './process-reaper.ts'
import { buildRows, formatTable, type MetricRuns } from './results-table.ts'
import type { ScenarioContext, ScenarioRun } from './scenarios/scenario-context.ts'
import { readListenOverflows } from './proc-stats.ts'
import { runIdleScenario } from './scenarios/idle-scenario.ts'
import { runFanInScenario, runFanOutScenario } from './scenarios/flow-scenario.ts'
import { runLatencyScenario } from './scenarios/latency-scenario.ts'
import { runDrainScenario } from './scenarios/drain-scenario.ts'
import { runResumeScenario } from './scenarios/resume-scenario.ts'
import { runDiskScenario } from './scenarios/disk-scenario.ts'
import { runRestartScenario } from './scenarios/restart-scenario.ts'
import { runWearScenario } from './scenarios/wear-scenario.ts'
import { runStormScenario } from './scenarios/storm-scenario.ts'
import { freePort } from '../helpers/free-port.ts'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
/** Brokers on one core, the load generator (and this process) on the other. */
const BROKER_CORES = '0'
const LOAD_CORES = '1'
/** Wanted RLIMIT_NOFILE for brokers and the load generator; capped by the hard limit. */
const WANTED_NOFILE = 65_536
const TMPFS_MAGIC = 0x01021994

const RUNS: Record<ScenarioName, ScenarioRun> = {
  idle: runIdleScenario,
  'fan-in': runFanInScenario,
  'fan-out': runFanOutScenario,
  latency: runLatencyScenario,
  drain: runDrainScenario,
  resume: runResumeScenario,
  restart: runRestartScenario,
  disk: runDiskScenario,
  wear: runWearScenario,
  storm: runStormScenario
}

function log (message: string): void {
  process.stderr.write(`bench: ${message}\n`)
}

function fail (message: string): never {
  process.stderr.write(`bench: ${message}\n`)
  reapAll()
  process.exit(1)
}

/** The file limit children actually get: WANTED_NOFILE, or the hard limit when that is lower. */
function effectiveNofile (): number {
  const out = spawnSync('sh', ['-c', `ulimit -n ${WANTED_NOFILE} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; ulimit -n`], { encoding: 'utf8' })
  const n = Number(out.stdout.trim())
  return Number.isFinite(n) ? n : 1024
}

/** Checks what the run needs and says how to fix what is missing, before any broker starts. */
function preflight (options: BenchOptions, context: LaunchContext): void {
  if (process.platform !== 'linux') fail(`the benchmark reads /proc and pins cores with taskset: it runs on Linux only (this is ${process.platform})`)
  if (options.nice < 0 && spawnSync('nice', ['-n', String(options.nice), 'true']).stderr?.length > 0) fail(`--nice ${options.nice} needs root (or CAP_SYS_NICE): run as root or leave --nice out`)
  const taskset = spawnSync('taskset', ['-c', BROKER_CORES, 'true'])
  if (taskset.error !== undefined || taskset.status !== 0) fail('taskset is missing or cannot pin to core 0: install util-linux ("apt-get install util-linux")')
  if (cpus().length < 2) fail(`the benchmark pins the broker and the load generator to different cores: this machine has ${cpus().length}`)
  for (const kind of options.brokers) {
    const why = checkAvailable(kind, context)
    if (why !== undefined) fail(why)
  }
  const counts = options.quick ? QUICK_COUNTS : FULL_COUNTS
  const needed = Math.max(...counts.idle, counts.drainSessions, counts.restartSessions) + 500
  if (options.scenarios.includes('idle') && context.nofile < needed) {
    fail(`RLIMIT_NOFILE is ${context.nofile} (hard limit) but ${Math.max(...counts.idle)} idle connections need ${needed}: raise the hard limit (ulimit -Hn, prlimit, LimitNOFILE=) or use --quick`)
  }
}

/**
 * What the harness takes from the board profile: limits.maxInflight (Mosquitto
 * gets the same window; 20, the option default, when unset) and the Node heap
 * flags edgemq runs with (runtime.maxOldSpace / maxSemiSpace, for {heapFlags}).
 */
function readBoard (board: string, needed: boolean): { maxInflight: number, heapFlags: string[] } {
  const file = join(ROOT, 'boards', `${board}.json`)
  if (!existsSync(file)) {
    if (needed) fail(`--board ${board}: no board profile ${file}; use one of the names in boards/`)
    return { maxInflight: 20, heapFlags: [] }
  }
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { settings?: { limits?: { maxInflight?: number }, runtime?: { maxOldSpace?: number, maxSemiSpace?: number } } }
  const runtime = profile.settings?.runtime ?? {}
  const heapFlags = [
    ...(runtime.maxOldSpace === undefined ? [] : [`--max-old-space-size=${runtime.maxOldSpace}`]),
    ...(runtime.maxSemiSpace === undefined ? [] : [`--max-semi-space-size=${runtime.maxSemiSpace}`])
  ]
  return { maxInflight: profile.settings?.limits?.maxInflight ?? 20, heapFlags }
}


function machineInfo (): Record<string, unknown> {
  const mosquitto = spawnSync(MOSQUITTO_PATH, ['-h'], { encoding: 'utf8' })
  const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' })
  return {
    edgemqCommit: commit.status === 0 ? commit.stdout.trim() : undefined,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    kernel: release(),
    node: process.version,
    mosquitto: /mosquitto version (\S+)/.exec(mosquitto.stdout ?? '')?.[1],
    loadAverage: loadavg().map((l) => Math.round(l * 100) / 100)
  }
}

async function main (): Promise<void> {
  let options: BenchOptions
  try {
    options = parseBenchArgs(process.argv.slice(2))
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n`)
    process.exit(2)
  }
  if (options.help) { process.stdout.write(USAGE); return }
  const started = performance.now()
  const startedAt = new Date()
  const counts = options.quick ? QUICK_COUNTS : FULL_COUNTS
  const { maxInflight, heapFlags } = readBoard(options.board, options.brokers.some((kind) => isEdgemq(kind) || kind === 'floor'))
  const launchContext: LaunchContext = { root: ROOT, board: options.board, edgemqCmd: options.edgemqCmd, heapFlags, nofile: effectiveNofile(), cores: BROKER_CORES, nice: options.nice }
  preflight(options, launchContext)
  spawnSync('taskset', ['-pc', LOAD_CORES, String(process.pid)]) // this process is idle while measuring; keep it off the broker's core
  if (options.brokers.some(isEdgemq) && options.build && options.edgemqCmd.includes('dist/edgemq.mjs')) {
    log('building dist/edgemq.mjs (node build.mjs --quiet; skip with --no-build)')
    const build = spawnSync(process.execPath, ['build.mjs', '--quiet'], { cwd: ROOT, stdio: 'inherit' })
    if (build.status !== 0) fail('node build.mjs --quiet failed: fix the build or run with --no-build against an existing dist/')
  }
  const tmpRoot = await mkdtemp(join(tmpdir(), 'edgemq-bench-'))
  // Removed after the brokers are killed, also on Ctrl-C (their data must not outlive the run).
  if (!options.keep) atReap(() => rmSync(tmpRoot, { recursive: true, force: true }))
  if ((await statfs(tmpRoot)).type === TMPFS_MAGIC) log(`warning: ${tmpRoot} is on tmpfs: write_bytes stays 0 there, so the disk figures are meaningless; set TMPDIR to a disk-backed directory`)
  log(`${options.quick ? 'quick' : 'full'} run: ${options.scenarios.join(', ')} against ${options.brokers.join(', ')}; brokers on core ${BROKER_CORES}, load on core ${LOAD_CORES}; RLIMIT_NOFILE ${launchContext.nofile}; temp ${tmpRoot}`)
  let worker = await LoadClient.start(ROOT, LOAD_CORES, launchContext.nofile, options.nice)
  const runs: MetricRuns = {}
  const scenarios: Record<string, Record<string, unknown[]>> = {}
  let errors = 0
  let runIndex = 0
  /** Runs one scenario once against one broker; a failure is recorded, never thrown. */
  const runOne = async (scenario: ScenarioName, kind: BrokerKind, round: number): Promise<{ metrics: Record<string, number>, details: Record<string, unknown>, error: boolean }> => {
    const brokers: BrokerProcess[] = []
    const scrapers: NodeJS.Timeout[] = []
    if (worker.exited) {
      log('the load generator had exited; starting a new one')
      worker = await LoadClient.start(ROOT, LOAD_CORES, launchContext.nofile, options.nice)
    }
    const context: ScenarioContext = {
      root: ROOT,
      kind,
      counts,
      worker,
      maxInflight,
      log,
      startBroker: async ({ persistence, passwordFile, board, wrap }) => {
        const dir = join(tmpRoot, `${String(++runIndex).padStart(3, '0')}-${scenario}-${kind}`)
        await mkdir(dir, { recursive: true })
        const prepared = await prepareLaunch(kind, { port: await freePort(), httpPort: kind === 'edgemq-scraped' ? await freePort() : undefined, persistence, dir, maxInflight, passwordFile }, board === undefined ? launchContext : { ...launchContext, board })
        const launch: typeof prepared = wrap === undefined ? prepared : { ...prepared, ...wrap(prepared) }
        const broker = await BrokerProcess.start(launch)
        brokers.push(broker)
        // edgemq-scraped: /metrics every second during the whole scenario (15 times
        // Prometheus's usual 15 s), so its cost shows in the broker's CPU per message.
        const target = launch.scrape
        if (target !== undefined) {
          let busy = false
          scrapers.push(setInterval(() => {
            if (busy) return
            busy = true
            void fetch(target.url, { headers: { authorization: `Bearer ${target.token}` } }).then(async (r) => { await r.text() }, () => {}).finally(() => { busy = false })
          }, 1_000))
        }
        return { broker, launch }
      },
      restartBroker: async (launch) => {
        const broker = await BrokerProcess.start(launch)
        brokers.push(broker)
        return broker
      }
    }
    const only = scenariosOf(kind)
    if (only !== undefined && !only.includes(scenario)) return { metrics: {}, details: { skipped: `${kind} runs ${only.join(' and ')} only` }, error: false }
    const scenarioStarted = performance.now()
    log(`${scenario} / ${kind}${options.repeat > 1 ? ` (run ${round + 1} of ${options.repeat})` : ''} ...`)
    const overflowsBefore = readListenOverflows()
    try {
      const outcome = await RUNS[scenario](context)
      const listenOverflows = countSince(overflowsBefore, readListenOverflows())
      // A connect dropped at a full accept queue is retried by the client's TCP 1 s later: a timed figure
      // that includes it measures that timer, not the broker (found in the drain: docs/bench.md). The storm
      // overflows the queue on purpose.
      if (listenOverflows !== undefined && listenOverflows > 0 && scenario !== 'storm') {
        log(`warning: ${scenario} / ${kind}: the kernel dropped ${listenOverflows} connects at the broker's full accept queue; those clients retried after 1 s, so figures that include connects measure that retry`)
      }
      return { metrics: outcome.metrics, details: { ...outcome.details, listenOverflows, seconds: Math.round(performance.now() - scenarioStarted) / 1000 }, error: false }
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err)
      log(`${scenario} / ${kind} FAILED: ${message}`)
      for (const broker of brokers) {
        const tail = broker.logTail()
        if (tail !== '') log(`${kind} output:\n${tail}`)
      }
      return { metrics: {}, details: { error: message, details: (err as { details?: unknown }).details }, error: true }
    } finally {
      for (const t of scrapers) clearInterval(t)
      for (const broker of brokers) broker.kill()
    }
  }
  try {
    let turn = 0
    for (const scenario of options.scenarios) {
      scenarios[scenario] = {}
      for (let round = 0; round < options.repeat; round++) {
        // Alternate which broker goes first, so a drift in the shared machine does not always favour one.
        const order = turn++ % 2 === 0 ? options.brokers : [...options.brokers].reverse()
        for (const kind of order) {
          const outcome = await runOne(scenario, kind, round)
          if (outcome.error) errors++
          for (const [key, value] of Object.entries(outcome.metrics)) ((runs[key] ??= {})[kind] ??= []).push(value)
          const list = scenarios[scenario][kind] ?? []
          list.push(outcome.details)
          scenarios[scenario][kind] = list
        }
      }
    }
  } finally {
    await worker.stop()
    reapAll()
  }

  const rows = buildRows(runs, options.brokers)
  const seconds = Math.round(performance.now() - started) / 1000
  process.stdout.write(`\n${formatTable(rows, options.brokers)}\n\n`)
  const out = options.out ?? join(ROOT, 'test/bench/results', `${startedAt.toISOString().replace(/[:.]/g, '-')}.json`)
  await mkdir(dirname(out), { recursive: true })
  const report = {
    version: 1,
    startedAt: startedAt.toISOString(),
    seconds,
    mode: options.quick ? 'quick' : 'full',
    options: { ...options, maxInflight, nofile: launchContext.nofile, brokerCores: BROKER_CORES, loadCores: LOAD_CORES },
    counts,
    machine: machineInfo(),
    rows,
    scenarios
  }
  await writeFile(out, JSON.stringify(report, null, 2) + '\n')
  log(`${errors === 0 ? 'done' : `done with ${errors} failed scenario run(s)`} in ${seconds} s; results in ${out}${options.keep ? `; temp kept in ${tmpRoot}` : ''}`)
  process.exitCode = errors === 0 ? 0 : 1
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  reapAll()
  process.exit(1)
})

/** How much a kernel counter rose; undefined when either reading is missing. */
function countSince (before: number | undefined, after: number | undefined): number | undefined {
  return before === undefined || after === undefined ? undefined : after - before
}
