// Command-line options of `npm run bench` and the counts of each mode. Pure:
// parsing never touches the machine, so mistakes are reported before anything starts.
import { BROKER_KINDS, DEFAULT_EDGEMQ_CMD, type BrokerKind } from './broker-kinds.ts'

/** Scenario names, in the order they run. */
export const SCENARIOS = ['idle', 'fan-in', 'fan-out', 'latency', 'drain', 'resume', 'restart', 'disk', 'wear', 'storm'] as const
/** One of SCENARIOS. */
export type ScenarioName = typeof SCENARIOS[number]

/** Sizes and durations of one mode. */
export interface Counts {
  /** Idle connection totals measured, in increasing order. */
  idle: number[]
  flowWarmupMs: number
  flowDurationMs: number
  fanInPublishers: number
  fanOutSubscribers: number
  payloadBytes: number
  latencyRate: number
  latencyWarmupMs: number
  latencyDurationMs: number
  /** Issue 11's shape: drainSessions persistent sessions, drainMessages QoS 1 queued for them (500 x 100). */
  drainSessions: number
  drainMessages: number
  drainTimeoutMs: number
  /** Restart to listening with this many QoS 1 messages queued for restartSessions sessions (issue 11: 100k). */
  restartSessions: number
  restartMessages: number
  /** Restarts timed on the same data; the figure is their median. */
  restartRounds: number
  diskSessions: number
  diskMessages: number
  /** Sensor day (issue 11): sensors QoS 1 publishers at sensorRate msg/s each, one persistent subscriber online. */
  sensors: number
  sensorRate: number
  sensorWarmupMs: number
  /** The measured window; bytes per day are this window's bytes scaled to 86,400 s (full: 300 s, long enough for a LevelDB memtable flush of generic-x64's 8 MB write buffer). */
  sensorWindowMs: number
  /** Reconnect storm: password clients, their users and source addresses (issue 16). */
  stormClients: number
  stormUsers: number
  stormAddresses: number
}

/** quick: short windows; the persistence shapes (drain, restart) are issue 11's own in both modes. */
export const QUICK_COUNTS: Counts = {
  idle: [1_000],
  flowWarmupMs: 500,
  flowDurationMs: 2_500,
  fanInPublishers: 50,
  fanOutSubscribers: 200,
  payloadBytes: 64,
  latencyRate: 2_000,
  latencyWarmupMs: 500,
  latencyDurationMs: 4_000,
  drainSessions: 500,
  drainMessages: 50_000,
  drainTimeoutMs: 60_000,
  restartSessions: 500,
  restartMessages: 100_000,
  restartRounds: 3,
  diskSessions: 100,
  diskMessages: 10_000,
  sensors: 100,
  sensorRate: 1,
  sensorWarmupMs: 2_000,
  sensorWindowMs: 10_000,
  stormClients: 1_000,
  stormUsers: 50,
  stormAddresses: 250
}

/** full: the figures the targets are stated for (10k idle; drain and restart are issue 11's shapes in both modes). */
export const FULL_COUNTS: Counts = {
  idle: [1_000, 10_000],
  flowWarmupMs: 1_000,
  flowDurationMs: 10_000,
  fanInPublishers: 50,
  fanOutSubscribers: 200,
  payloadBytes: 64,
  latencyRate: 2_000,
  latencyWarmupMs: 1_000,
  latencyDurationMs: 20_000,
  drainSessions: 500,
  drainMessages: 50_000,
  drainTimeoutMs: 300_000,
  restartSessions: 500,
  restartMessages: 100_000,
  restartRounds: 5,
  diskSessions: 100,
  diskMessages: 100_000,
  sensors: 100,
  sensorRate: 1,
  sensorWarmupMs: 5_000,
  sensorWindowMs: 300_000,
  stormClients: 1_000,
  stormUsers: 50,
  stormAddresses: 250
}

/** Everything the command line can set. */
export interface BenchOptions {
  quick: boolean
  scenarios: ScenarioName[]
  brokers: BrokerKind[]
  board: string
  edgemqCmd: string
  build: boolean
  keep: boolean
  /** Niceness of brokers and load generator; negative puts them ahead of other jobs (needs root). */
  nice: number
  /** Each scenario runs this many times per broker, alternating brokers; the table shows medians. */
  repeat: number
  out: string | undefined
  help: boolean
}

/** The usage text of `npm run bench -- --help`. */
export const USAGE = `usage: npm run bench -- [options]

  --quick               small counts; the whole run takes about 2.5 minutes
  --only <names>        scenarios to run, comma-separated or repeated:
                        ${SCENARIOS.join(', ')} (default: all)
  --brokers <names>     brokers, comma-separated: ${BROKER_KINDS.join(', ')}
                        (default: edgemq,mosquitto; ratios are against mosquitto)
  --board <name>        edgemq board profile (heap flags, limits); default generic-x64
  --edgemq-cmd <cmd>    how to start edgemq; {config}, {port} and {heapFlags}
                        (the board's Node heap flags) are replaced,
                        "-c <config>" is appended when {config} is absent
                        (default: "${DEFAULT_EDGEMQ_CMD}")
  --no-build            do not run "node build.mjs --quiet" before edgemq
  --repeat <n>          run each scenario n times per broker (alternating
                        brokers) and report the median; default 1
  --nice <n>            run brokers and load generator at niceness n (-20..19);
                        a negative value keeps other jobs on a shared machine
                        from taking their cores (needs root); default 0
  --keep                keep the temp directory (configs, broker data)
  --out <file>          JSON results file (default test/bench/results/<time>.json)
  --help                this text
`

/** Parses argv (without node and the script); throws an Error naming the bad argument and the fix. */
export function parseBenchArgs (argv: readonly string[]): BenchOptions {
  const options: BenchOptions = {
    quick: false, scenarios: [], brokers: ['edgemq', 'mosquitto'], board: 'generic-x64', edgemqCmd: DEFAULT_EDGEMQ_CMD, build: true, keep: false, nice: 0, repeat: 1, out: undefined, help: false
  }
  let brokersGiven = false
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    const value = (): string => {
      const v = argv[++i]
      if (v === undefined || v.startsWith('--')) throw new Error(`${arg} needs a value: see --help`)
      return v
    }
    if (arg === '--quick') options.quick = true
    else if (arg === '--full') options.quick = false
    else if (arg === '--only') {
      for (const name of value().split(',')) {
        if (!(SCENARIOS as readonly string[]).includes(name)) throw new Error(`--only: unknown scenario "${name}"; use one of ${SCENARIOS.join(', ')}`)
        if (!options.scenarios.includes(name as ScenarioName)) options.scenarios.push(name as ScenarioName)
      }
    } else if (arg === '--brokers') {
      const names = value().split(',')
      for (const name of names) {
        if (!(BROKER_KINDS as readonly string[]).includes(name)) throw new Error(`--brokers: unknown broker "${name}"; use ${BROKER_KINDS.join(', ')}`)
      }
      if (!names.includes('mosquitto')) throw new Error(`--brokers must include mosquitto: every figure is a ratio to Mosquitto's (got "${names.join(',')}")`)
      options.brokers = [...new Set(names)] as BrokerKind[]
      brokersGiven = true
    } else if (arg === '--board') options.board = value()
    else if (arg === '--edgemq-cmd') {
      options.edgemqCmd = value()
      if (!brokersGiven && !options.brokers.includes('edgemq')) options.brokers.unshift('edgemq')
    } else if (arg === '--no-build') options.build = false
    else if (arg === '--keep') options.keep = true
    else if (arg === '--nice') {
      const text = value()
      options.nice = Number(text)
      if (!Number.isInteger(options.nice) || options.nice < -20 || options.nice > 19) throw new Error(`--nice must be an integer -20..19: got "${text}"`)
    } else if (arg === '--repeat') {
      const text = value()
      options.repeat = Number(text)
      if (!Number.isInteger(options.repeat) || options.repeat < 1 || options.repeat > 9) throw new Error(`--repeat must be an integer 1-9: got "${text}"`)
    }
    else if (arg === '--out') options.out = value()
    else if (arg === '--help' || arg === '-h') options.help = true
    else throw new Error(`unknown option "${arg}": see --help`)
  }
  if (!/^[a-z0-9][a-z0-9-]*$/.test(options.board)) throw new Error(`--board must be a board profile name like generic-x64: got "${options.board}"`)
  if (options.scenarios.length === 0) options.scenarios = [...SCENARIOS]
  else options.scenarios = SCENARIOS.filter((s) => options.scenarios.includes(s))
  return options
}
