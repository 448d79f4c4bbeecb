// The board's Node heap flags must be set when the process starts (V8 sizes
// its heap at isolate creation and never below ~260 MB from a cgroup limit),
// so `edgemq start` runs itself again with them when they are missing.
// Packaged services pass them directly and run one process (EDGEMQ_NO_REEXEC=1).
//
// One process is what users, docker, pm2, a shell and the OOM killer expect:
// the PID they see is the broker. Two ways, best first:
// - Node >= 22.15 has process.execve: the broker replaces this process, same PID.
// - Node 20 has no exec: the broker runs as a child bound to this launcher by an
//   IPC channel. The launcher forwards every signal and the exit code; the child
//   stops as soon as the channel closes, which the kernel does when the launcher
//   dies in any way, SIGKILL included (found before: a `kill -9` of the visible
//   PID left the broker running with the port and the LevelDB lock).
import { loadBuiltin } from '../core/load-builtin.ts'
import type { EdgemqConfig } from '../config/types.ts'
import { withMallocSettings } from './malloc-env.ts'

/** The Node flags a config asks for. */
export function heapFlags (config: EdgemqConfig): string[] {
  return [`--max-old-space-size=${config.runtime.maxOldSpace}`, `--max-semi-space-size=${config.runtime.maxSemiSpace}`]
}

/** Whether this process already runs with `flags`. */
export function hasHeapFlags (flags: readonly string[], execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): boolean {
  const present = [...execArgv, ...nodeOptions.split(/\s+/)]
  return flags.every((f) => present.includes(f))
}

type Execve = (file: string, args: readonly string[], env: NodeJS.ProcessEnv) => never

/** The command line that runs this same command again under `flags`. */
function commandLineWith (flags: readonly string[]): string[] {
  const execArgv = process.execArgv.filter((a) => !a.startsWith('--max-old-space-size') && !a.startsWith('--max-semi-space-size'))
  return [...execArgv, ...flags, ...process.argv.slice(1)]
}

/**
 * Runs this same command line again under `flags`: in place where Node can
 * exec, else as a child that dies with this process. Resolves to the child's
 * exit code (signals in, exit code out).
 */
export async function reexecWithFlags (flags: readonly string[]): Promise<number> {
  const env = withMallocSettings({ ...process.env, EDGEMQ_NO_REEXEC: '1' })
  const execve = (process as unknown as { execve?: Execve }).execve
  if (typeof execve === 'function') execve(process.execPath, [process.execPath, ...commandLineWith(flags)], env)
  const child = loadBuiltin<typeof import('node:child_process')>('node:child_process').spawn(process.execPath, commandLineWith(flags), {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: { ...env, EDGEMQ_LAUNCHER_PID: String(process.pid) }
  })
  // The channel only ties the two lives together; it must not keep this loop alive.
  child.channel?.unref()
  const forward = (signal: NodeJS.Signals): void => { child.kill(signal) }
  const signals: NodeJS.Signals[] = ['SIGHUP', 'SIGTERM', 'SIGINT', 'SIGUSR1', 'SIGUSR2']
  for (const s of signals) process.on(s, forward)
  return await new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      for (const s of signals) process.off(s, forward)
      resolve(code ?? (signal === null ? 1 : 128 + (signalNumber(signal) ?? 0)))
    })
  })
}

/**
 * In a broker started by reexecWithFlags: calls `onGone` once when the launcher
 * is gone (its IPC channel closed). Does nothing in a process without one.
 */
export function watchLauncher (onGone: () => void): void {
  if (process.env.EDGEMQ_LAUNCHER_PID === undefined || process.channel === undefined) return
  process.channel.unref()
  process.once('disconnect', onGone)
}

function signalNumber (signal: NodeJS.Signals): number | undefined {
  const table: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15, SIGUSR1: 10, SIGUSR2: 12 }
  return table[signal]
}
