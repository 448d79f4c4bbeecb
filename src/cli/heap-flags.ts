// The board's Node heap flags must be set when the process starts (V8 sizes
// its heap at isolate creation and never below ~260 MB from a cgroup limit),
// so `edgemq start` re-runs itself with them when they are missing. Packaged
// services pass them directly and run one process (EDGEMQ_NO_REEXEC=1).
import { spawn } from 'node:child_process'
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

/** Runs this same command line again under `flags` and mirrors the child: signals in, exit code out. */
export async function reexecWithFlags (flags: readonly string[]): Promise<number> {
  const execArgv = process.execArgv.filter((a) => !a.startsWith('--max-old-space-size') && !a.startsWith('--max-semi-space-size'))
  const child = spawn(process.execPath, [...execArgv, ...flags, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: withMallocSettings({ ...process.env, EDGEMQ_NO_REEXEC: '1' })
  })
  const forward = (signal: NodeJS.Signals): void => { child.kill(signal) }
  const signals: NodeJS.Signals[] = ['SIGHUP', 'SIGTERM', 'SIGINT', 'SIGUSR1', 'SIGUSR2']
  for (const s of signals) process.on(s, forward)
  return await new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      for (const s of signals) process.off(s, forward)
      resolve(code ?? (signal === null ? 1 : 128))
    })
  })
}
