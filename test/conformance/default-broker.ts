// edgemq as a new user first runs it: `edgemq start` with NO config file, so
// every option is at its embedded default. Only the port (-p 0, a free one)
// and the data folder (--data, a temp dir) are given on the command line,
// because a test cannot take 1883 or write to /var/lib. Interop and
// differential tests start it this way so that "works with the defaults"
// is what they prove, not "works with the test's config".
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { REPO_ROOT } from '../helpers/broker-process.ts'

/** A default-config edgemq process. */
export interface DefaultBroker {
  port: number
  pid: number
  /** Everything it wrote to stderr so far. */
  stderr: () => string
  /** True while the process runs. */
  alive: () => boolean
  /** SIGTERM (SIGKILL after 5 s) and removes the temp dir; safe to call twice. */
  stop: () => Promise<void>
}

const running = new Set<ChildProcess>()
process.once('exit', () => { for (const child of running) child.kill('SIGKILL') })

const LISTENING = /info broker: listening listener=\S+ type=tcp host=\S+ port=(\d+)/

/** Starts `edgemq start -p 0 --data <tmp>` (no -c) from the source tree and waits for its listening line. */
export async function startDefaultBroker (options: { args?: string[] } = {}): Promise<DefaultBroker> {
  const dir = await mkdtemp(join(tmpdir(), 'edgemq-default-'))
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src/cli/main.ts'), 'start', '-p', '0', '--data', join(dir, 'data'), ...(options.args ?? [])], {
    cwd: REPO_ROOT,
    env: { ...process.env, EDGEMQ_NO_REEXEC: '1' },
    stdio: ['ignore', 'ignore', 'pipe']
  })
  running.add(child)
  let log = ''
  let exitedCode: number | null | undefined
  const exited = new Promise<void>((resolve) => child.once('exit', (code) => { exitedCode = code; running.delete(child); resolve() }))
  let port: number
  try {
    port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`edgemq (default config) did not listen within 30 s; stderr:\n${log}`)), 30_000)
      child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
        log += chunk
        const m = LISTENING.exec(log)
        if (m !== null) { clearTimeout(timer); resolve(Number(m[1])) }
      })
      void exited.then(() => { clearTimeout(timer); reject(new Error(`edgemq (default config) exited with ${String(exitedCode)} before listening; stderr:\n${log}`)) })
    })
  } catch (err) {
    child.kill('SIGKILL')
    await exited
    await rm(dir, { recursive: true, force: true })
    throw err
  }
  let stopping: Promise<void> | undefined
  return {
    port,
    pid: child.pid!,
    stderr: () => log,
    alive: () => exitedCode === undefined,
    stop: async () => {
      stopping ??= (async () => {
        if (exitedCode === undefined) {
          child.kill('SIGTERM')
          const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
          await exited
          clearTimeout(timer)
        }
        await rm(dir, { recursive: true, force: true })
      })()
      await stopping
    }
  }
}
