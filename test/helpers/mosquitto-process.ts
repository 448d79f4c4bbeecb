// A real Mosquitto (Debian's) for bridge tests: started on a free loopback
// port from a temp config, stopped (SIGTERM, it saves its database) or killed
// (SIGKILL) to make an outage, started again on the same port. Everything it
// made goes on dispose(); a process left running at exit is SIGKILLed.
import { spawn, type ChildProcess } from 'node:child_process'
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { requireTool } from './broker-process.ts'
import { freePort } from './free-port.ts'

const running = new Set<ChildProcess>()
process.once('exit', () => { for (const c of running) c.kill('SIGKILL') })


/** Resolves once something accepts TCP connections on the port. */
export async function waitForPort (port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => { s.destroy(); resolve(true) })
      s.once('error', () => resolve(false))
    })
    if (ok) return
    if (Date.now() > deadline) throw new Error(`nothing listening on 127.0.0.1:${port} after ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** One mosquitto under test. */
export class MosquittoProcess {
  readonly port: number
  readonly dir: string
  private child: ChildProcess | undefined
  private exited: Promise<void> = Promise.resolve()
  private log = ''
  private diedOnItsOwn = false

  private constructor (port: number, dir: string) {
    this.port = port
    this.dir = dir
  }

  /** Writes a config (listener on 127.0.0.1:port, anonymous, persistence in the temp dir) and starts it. */
  static async start (options: { extraConfig?: string, firstConfig?: string, port?: number } = {}): Promise<MosquittoProcess> {
    requireTool('mosquitto', 'mosquitto')
    const dir = await mkdtemp(join(tmpdir(), 'edgemq-mosquitto-'))
    // Started as root, mosquitto drops to the `mosquitto` user: it must be able to write its database here.
    await chmod(dir, 0o777)
    const m = new MosquittoProcess(options.port ?? await freePort(), dir)
    await writeFile(join(dir, 'mosquitto.conf'), [
      options.firstConfig ?? '', // settings mosquitto wants before any listener (per_listener_settings)
      `listener ${m.port} 127.0.0.1`,
      'allow_anonymous true',
      'persistence true',
      `persistence_location ${dir}/`,
      'autosave_interval 1',
      'max_queued_messages 0', // unlimited: the test consumer's session must hold a whole drain
      'max_inflight_messages 0',
      options.extraConfig ?? ''
    ].join('\n') + '\n')
    await m.resume()
    return m
  }

  /** Starts it again (same port, same database). */
  async resume (): Promise<void> {
    if (this.child !== undefined) return
    const child = spawn(requireTool('mosquitto', 'mosquitto'), ['-c', join(this.dir, 'mosquitto.conf')], { stdio: ['ignore', 'ignore', 'pipe'] })
    running.add(child)
    this.child = child
    child.stderr!.on('data', (d) => { this.log += String(d) })
    this.exited = new Promise((resolve) => child.once('exit', () => {
      running.delete(child)
      if (this.child === child) this.diedOnItsOwn = true // not halted by us: killed from outside, or crashed
      resolve()
    }))
    try {
      await waitForPort(this.port)
    } catch (err) {
      throw new Error(`${(err as Error).message}; mosquitto said:\n${this.log}`)
    }
  }

  /** Stops it: SIGTERM (it saves its database) or SIGKILL. */
  async halt (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child
    if (child === undefined) return
    this.child = undefined
    child.kill(signal)
    await this.exited
  }

  /** Whether it exited without halt() or dispose() (killed from outside, or crashed). */
  exitedUnexpectedly (): boolean {
    return this.diedOnItsOwn
  }

  /** What it wrote to stderr. */
  output (): string {
    return this.log
  }

  /** Kills it and removes its files. */
  async dispose (): Promise<void> {
    await this.halt('SIGKILL')
    await rm(this.dir, { recursive: true, force: true })
  }
}

/** A free TCP port on 127.0.0.1 (test/helpers/free-port.ts). */
export { freePort }
