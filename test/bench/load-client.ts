// The harness's handle on the load generator process: start it on its core
// with a raised file limit, call its loads, stop it.
import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import type { LOADS, LoadName } from './load-worker.ts'
import { killGroup, track } from './process-reaper.ts'
import { niceWords } from './broker-process.ts'

type LoadParams<N extends LoadName> = Parameters<typeof LOADS[N]>[0]
type LoadResult<N extends LoadName> = Awaited<ReturnType<typeof LOADS[N]>>

/** A running load generator. */
export class LoadClient {
  private readonly child: ChildProcess
  private nextId = 1
  private readonly pending = new Map<number, { resolve: (v: unknown) => void, reject: (e: Error) => void }>()
  private exitError: Error | undefined

  private constructor (child: ChildProcess) {
    this.child = child
    child.on('message', (m: { id?: number, result?: unknown, error?: string }) => {
      if (m.id === undefined) return
      const waiter = this.pending.get(m.id)
      this.pending.delete(m.id)
      if (m.error !== undefined) waiter?.reject(new Error(`load generator: ${m.error}`))
      else waiter?.resolve(m.result)
    })
    child.once('exit', (code, signal) => {
      this.exitError = new Error(`the load generator exited (code ${code}, signal ${signal})`)
      for (const w of this.pending.values()) w.reject(this.exitError)
      this.pending.clear()
    })
  }

  /** Whether the generator process has gone (a crash in a load ends it). */
  get exited (): boolean {
    return this.exitError !== undefined
  }

  /** Starts test/bench/load-worker.ts on `cores` with RLIMIT_NOFILE raised to `nofile` (or the hard limit), at niceness `nice`. */
  static start (root: string, cores: string, nofile: number, nice = 0): Promise<LoadClient> {
    const script = 'ulimit -n "$1" 2>/dev/null || ulimit -n "$(ulimit -Hn)"; shift; exec "$@"'
    const child = spawn('taskset', ['-c', cores, ...niceWords(nice), 'sh', '-c', script, 'bench-load', String(nofile), process.execPath, '--import', 'tsx', join(root, 'test/bench/load-worker.ts')], {
      cwd: root, detached: true, stdio: ['ignore', 'inherit', 'inherit', 'ipc']
    })
    track(child)
    const client = new LoadClient(child)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { killGroup(child); reject(new Error('the load generator did not start within 30 s')) }, 30_000)
      child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`the load generator exited during start (code ${code})`)) })
      child.once('message', () => { clearTimeout(timer); resolve(client) })
    })
  }

  /** Runs one load in the generator and returns its result; fails after `timeoutMs`. */
  call<N extends LoadName> (name: N, params: LoadParams<N>, timeoutMs = 600_000): Promise<LoadResult<N>> {
    if (this.exitError !== undefined) return Promise.reject(this.exitError)
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id)
        reject(new Error(`load "${name}" did not finish within ${timeoutMs} ms`))
      }, timeoutMs)
      this.pending.set(id, {
        resolve: (v) => { clearTimeout(timer); resolve(v as LoadResult<N>) },
        reject: (e) => { clearTimeout(timer); reject(e) }
      })
      this.child.send({ id, name, params })
    })
  }

  /** Closes the channel (the worker exits on disconnect) and kills it if it lingers. */
  async stop (): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()))
    this.child.disconnect()
    const timer = setTimeout(() => killGroup(this.child), 3_000)
    await exited
    clearTimeout(timer)
  }
}
