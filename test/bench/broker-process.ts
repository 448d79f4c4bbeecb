// A broker under test: started pinned to its own core with a raised file limit,
// found by the socket it listens on (a launcher may re-exec the real broker as
// a child), stopped with SIGTERM, and always killed in the end.
//
// The broker runs under a small sh wrapper that waits for it and then prints
// its own /proc/$$/io: the kernel adds a reaped child's I/O counters to its
// parent's, so that line holds every byte the broker wrote, including what it
// wrote while shutting down (Mosquitto saves its whole database on exit, after
// which its own /proc/PID/io is gone).
import { spawn, type ChildProcess } from 'node:child_process'
import { performance } from 'node:perf_hooks'
import { createInterface } from 'node:readline'
import { findListeningInode, findSocketOwner, listDescendants, parseIo, readCpuTicks, readIo, readMemory } from './proc-stats.ts'
import { killGroup, track } from './process-reaper.ts'

/** How to launch one broker process. */
export interface BrokerLaunch {
  /** Shown in messages: "mosquitto", "edgemq", "aedes". */
  label: string
  command: string
  args: readonly string[]
  cwd: string
  env?: NodeJS.ProcessEnv
  port: number
  /** CPU list for taskset, e.g. "0". */
  cores: string
  /** Scheduling niceness (negative = ahead of other jobs on a shared machine); 0 leaves it alone. */
  nice?: number
  /** RLIMIT_NOFILE for the broker (the hard limit caps it). */
  nofile: number
  startTimeoutMs?: number
}

/** What the broker left behind when it stopped. */
export interface BrokerExit {
  code: number | undefined
  /** True when SIGTERM was not enough and the harness had to SIGKILL it. */
  forced: boolean
  stopMs: number
  /** Lifetime write counters of the broker and its children, read after they were reaped. */
  io: { writeBytes: number, wchar: number } | undefined
}

// $1 = wanted nofile limit, the rest = the broker command line.
const WRAPPER = [
  'ulimit -n "$1" 2>/dev/null || ulimit -n "$(ulimit -Hn)"',
  'shift',
  '"$@" &',
  'child=$!',
  'echo "bench-child-pid=$child" >&2',
  'wait "$child"',
  'status=$?',
  'echo "bench-exit=$status" >&2',
  'sed -n "s/^\\(wchar\\|write_bytes\\): */bench-io-\\1=/p" /proc/$$/io >&2',
  'exit "$status"'
].join('\n')

/** A running broker and what the harness can read about it. */
export class BrokerProcess {
  readonly label: string
  readonly port: number
  /** The process that owns the listening socket: the one measured. */
  readonly pid: number
  /** Milliseconds from spawn to the listening socket appearing. */
  readonly startMs: number
  private readonly wrapper: ChildProcess
  private readonly log: string[]
  private readonly childPid: number
  private closed = false

  private constructor (launch: BrokerLaunch, wrapper: ChildProcess, log: string[], childPid: number, pid: number, startMs: number) {
    this.label = launch.label
    this.port = launch.port
    this.wrapper = wrapper
    this.log = log
    this.childPid = childPid
    wrapper.once('close', () => { this.closed = true })
    this.pid = pid
    this.startMs = startMs
  }

  /** Starts the broker and resolves once a process of its tree listens on the port. */
  static async start (launch: BrokerLaunch): Promise<BrokerProcess> {
    const started = performance.now()
    const wrapper = spawn('taskset', ['-c', launch.cores, ...niceWords(launch.nice ?? 0), 'sh', '-c', WRAPPER, 'bench-broker', String(launch.nofile), launch.command, ...launch.args], {
      cwd: launch.cwd, env: launch.env ?? process.env, detached: true, stdio: ['ignore', 'pipe', 'pipe']
    })
    track(wrapper)
    const log = collectLines(wrapper)
    let exited = false
    wrapper.once('exit', () => { exited = true })
    const timeoutMs = launch.startTimeoutMs ?? 30_000
    for (;;) {
      // 10 ms: the restart figures are a few hundred ms, so the poll must not round them
      await sleep(10)
      const waited = performance.now() - started
      if (exited) throw new Error(`${launch.label} exited before listening on 127.0.0.1:${launch.port}; command: ${launch.command} ${launch.args.join(' ')}\n${tail(log)}`)
      if (waited > timeoutMs) {
        killGroup(wrapper)
        throw new Error(`${launch.label} did not listen on 127.0.0.1:${launch.port} within ${timeoutMs} ms; command: ${launch.command} ${launch.args.join(' ')}\n${tail(log)}`)
      }
      const childPid = findChildPid(log)
      const inode = findListeningInode(launch.port)
      if (childPid === undefined || inode === undefined) continue
      const owner = findSocketOwner(inode, [childPid, ...listDescendants(childPid)])
      if (owner === undefined) continue
      return new BrokerProcess(launch, wrapper, log, childPid, owner, performance.now() - started)
    }
  }

  /** Memory of the listening process in KiB. */
  memory (): { rssKiB: number, hwmKiB: number } {
    const memory = readMemory(this.pid)
    if (memory === undefined) throw new Error(`${this.label} (pid ${this.pid}) is gone\n${tail(this.log)}`)
    return memory
  }

  /** Memory of every process of the broker (a launcher and its child count together). */
  treeMemory (): { rssKiB: number, hwmKiB: number, processes: number } {
    const total = { rssKiB: 0, hwmKiB: 0, processes: 0 }
    for (const pid of [this.childPid, ...listDescendants(this.childPid)]) {
      const m = readMemory(pid)
      if (m === undefined) continue
      total.rssKiB += m.rssKiB
      total.hwmKiB += m.hwmKiB
      total.processes += 1
    }
    return total
  }

  /** Write counters summed over the broker's live processes. */
  io (): { writeBytes: number, wchar: number } {
    const total = { writeBytes: 0, wchar: 0 }
    for (const pid of [this.childPid, ...listDescendants(this.childPid)]) {
      const io = readIo(pid)
      if (io === undefined) continue
      total.writeBytes += io.writeBytes
      total.wchar += io.wchar
    }
    return total
  }

  /** CPU ticks used so far by the listening process. */
  cpuTicks (): number {
    return readCpuTicks(this.pid) ?? 0
  }

  /** The last lines the broker printed, for error messages. */
  logTail (): string {
    return tail(this.log)
  }

  /** SIGTERM to the listening process, then waits for the whole tree; SIGKILL after `timeoutMs`. */
  async stop (timeoutMs = 60_000): Promise<BrokerExit> {
    const started = performance.now()
    // 'close' comes after the exit and after the last output line (the I/O counters).
    const exited = new Promise<void>((resolve) => {
      if (this.closed) resolve()
      else this.wrapper.once('close', () => resolve())
    })
    try { process.kill(this.pid, 'SIGTERM') } catch { /* already gone */ }
    let forced = false
    const deadline = started + timeoutMs
    let nudged = false
    while (!(await Promise.race([exited.then(() => true), sleep(100).then(() => false)]))) {
      // A launcher that outlives its broker child is told to stop too.
      if (!nudged && this.childPid !== this.pid && readMemory(this.pid) === undefined && performance.now() - started > 5_000) {
        nudged = true
        try { process.kill(this.childPid, 'SIGTERM') } catch { /* gone */ }
      }
      if (performance.now() > deadline) {
        forced = true
        killGroup(this.wrapper)
        await exited
        break
      }
    }
    const text = this.log.join('\n')
    const code = /bench-exit=(\d+)/.exec(text)
    const io = parseIo(text.replace(/bench-io-(\w+)=/g, '$1: '))
    return { code: code === null ? undefined : Number(code[1]), forced, stopMs: performance.now() - started, io }
  }

  /** Kills the broker's whole process group at once, unless it has already gone (its id could be reused). */
  kill (): void {
    if (this.closed && readMemory(this.pid) === undefined) return
    killGroup(this.wrapper)
  }
}

function findChildPid (log: readonly string[]): number | undefined {
  const match = /^bench-child-pid=(\d+)$/.exec(log[0] ?? '')
  return match === null ? undefined : Number(match[1])
}

/** Keeps the last 400 output lines of a child, stdout and stderr together; line 0 is always the wrapper's child pid line. */
function collectLines (child: ChildProcess): string[] {
  const lines: string[] = ['']
  const add = (line: string): void => {
    if (line.length === 0) return
    if (line.startsWith('bench-child-pid=')) { lines[0] = line; return }
    lines.push(line)
    if (lines.length > 400) lines.splice(1, lines.length - 400)
  }
  if (child.stdout !== null) createInterface({ input: child.stdout }).on('line', add)
  if (child.stderr !== null) createInterface({ input: child.stderr }).on('line', add)
  return lines
}

function tail (log: readonly string[]): string {
  // A crashing bundle prints a line of minified source: keep each line short.
  return log.filter((l) => !l.startsWith('bench-')).slice(-30).map((l) => `  | ${l.length > 300 ? l.slice(0, 300) + ' ...' : l}`).join('\n')
}

/** `nice -n <n>` for a command line, or nothing for 0. */
export function niceWords (nice: number): string[] {
  return nice === 0 ? [] : ['nice', '-n', String(nice)]
}

/** Resolves after `ms` milliseconds. */
export function sleep (ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
