// `npm start` puts npm (and a shell) above the broker, and npm's PID is the one
// the user sees. When npm is killed with SIGKILL nothing tells its children, so
// under npm the broker watches its parent and stops when it is gone (its PPID
// changes to the reaper). Only under npm: a broker a user started with `&` or
// nohup must outlive the shell that started it.

// One check a second: a read of the parent's PID, no I/O.
const PARENT_CHECK_MS = 1_000

/** Calls `onGone` once when this process's parent changes; only under `npm start`. Returns a stop function. */
export function watchParentUnderNpm (env: NodeJS.ProcessEnv, onGone: () => void): () => void {
  if (env.npm_lifecycle_event !== 'start') return () => {}
  const parent = process.ppid
  const timer = setInterval(() => {
    if (process.ppid === parent) return
    clearInterval(timer)
    onGone()
  }, PARENT_CHECK_MS)
  timer.unref()
  return () => { clearInterval(timer) }
}
