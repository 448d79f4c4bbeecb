// Every process the harness starts is registered here and killed when the run
// ends, whether it ends well, with an exception, or with Ctrl-C: a benchmark
// must never leave a broker holding a port or a core behind it.
import type { ChildProcess } from 'node:child_process'

const groups = new Set<ChildProcess>()
const cleanups: Array<() => void> = []
let installed = false

/** Runs `fn` (synchronous: it may run inside an exit handler) after the processes are killed, e.g. removing temp dirs. */
export function atReap (fn: () => void): void {
  installHandlers()
  cleanups.push(fn)
}

/** Kills the whole process group of `child` (it was spawned detached, so its pid is the group id). */
export function killGroup (child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (child.pid === undefined) return
  try { process.kill(-child.pid, signal) } catch { /* already gone */ }
}

/** Remembers a detached child so that `reapAll` kills its group; forgets it when it exits. */
export function track (child: ChildProcess): void {
  installHandlers()
  groups.add(child)
  child.once('exit', () => groups.delete(child))
}

/** Kills every tracked process group now. */
export function reapAll (): void {
  for (const child of groups) killGroup(child)
  groups.clear()
  for (const fn of cleanups.splice(0)) {
    try { fn() } catch { /* best effort at exit */ }
  }
}

function installHandlers (): void {
  if (installed) return
  installed = true
  process.once('exit', reapAll)
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      process.stderr.write(`\nbench: ${signal}, killing every process it started\n`)
      reapAll()
      process.exit(130)
    })
  }
}
