// The built bundle (what users run) for tests about the product as it runs:
// built once per test file into a temp folder that other users can read, so
// a test can also run it as `nobody` (setpriv) to meet real permissions.
import { spawn, spawnSync } from 'node:child_process'
import { chmod, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { REPO_ROOT } from './broker-process.ts'

/** A uid/gid with no rights on root's files (the `nobody` user of Debian). */
export const NOBODY = { uid: 65534, gid: 65534 }

/** A bundle built into its own temp folder. */
export interface BuiltBundle {
  /** Path of edgemq.mjs. */
  main: string
  /** A folder for the test's files (mode 0755, inside the bundle's temp folder). */
  dir: string
  remove: () => Promise<void>
}

/** Builds dist/edgemq.mjs into a temp folder (mode 0755 all the way, for runs as another user). */
export async function buildBundle (): Promise<BuiltBundle> {
  const dir = await mkdtemp(join(tmpdir(), 'edgemq-built-'))
  await chmod(dir, 0o755)
  const out = join(dir, 'dist')
  const built = spawnSync(process.execPath, [join(REPO_ROOT, 'build.mjs'), '--outdir', out], { encoding: 'utf8' })
  if (built.status !== 0) throw new Error(`build failed: ${built.stderr}`)
  spawnSync('chmod', ['-R', 'a+rX', out])
  return { main: join(out, 'edgemq.mjs'), dir, remove: async () => { await rm(dir, { recursive: true, force: true }) } }
}

/** What a finished CLI run printed. */
export interface CliRun { code: number | null, stdout: string, stderr: string }

/**
 * Runs `node <main> <args>` to its end (as `user` when given, via setpriv),
 * one process (EDGEMQ_NO_REEXEC=1). A `start` that does not exit within
 * `readyMs` of printing "ready" is stopped with SIGTERM: it started.
 */
export async function runCli (main: string, args: string[], options: { user?: { uid: number, gid: number }, cwd?: string, input?: string, timeoutMs?: number } = {}): Promise<CliRun & { started: boolean }> {
  const cmd = options.user === undefined
    ? [process.execPath, main, ...args]
    : ['setpriv', `--reuid=${options.user.uid}`, `--regid=${options.user.gid}`, '--clear-groups', process.execPath, main, ...args]
  const child = spawn(cmd[0], cmd.slice(1), { cwd: options.cwd, env: { ...process.env, EDGEMQ_NO_REEXEC: '1' }, stdio: ['pipe', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  let started = false
  child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d })
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d
    if (!started && /info edgemq: ready/.test(stderr)) { started = true; child.kill('SIGTERM') }
  })
  child.stdin.end(options.input ?? '')
  const timer = setTimeout(() => { child.kill('SIGKILL') }, options.timeoutMs ?? 30_000)
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => { resolve(c) }))
  clearTimeout(timer)
  return { code, stdout, stderr, started }
}
