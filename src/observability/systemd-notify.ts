// Type=notify for the packaged service: READY=1 once every listener is bound,
// WATCHDOG=1 from the event loop, STOPPING=1 on shutdown.
//
// Why spawn systemd-notify: sd_notify is one datagram on a unix socket
// (NOTIFY_SOCKET), and Node has no unix datagram sockets (node:dgram is UDP
// only). The other ways are a native addon (a second prebuilt binary per
// architecture to ship and audit) or a helper such as socat or python (not on
// every image). systemd-notify is part of systemd itself, so it is on every
// machine that runs the unit. It runs as a child process with its own PID, so
// the unit sets NotifyAccess=all; since systemd 246 it waits for the manager
// to have read the message (BARRIER=1) before exiting, so the message is
// never dropped because its sender is already gone. Cost: one short-lived
// process per ping, a ping every WatchdogSec/3.
//
// The pings come from a timer on the event loop: a loop wedged by a runaway
// callback sends none, and systemd kills and restarts the broker after
// WatchdogSec.
import { loadBuiltin } from '../core/load-builtin.ts'
import type { Logger } from './logger.ts'

/** The notifier of one process (does nothing outside a notify-type unit). */
export interface SystemdNotifier {
  /** Whether NOTIFY_SOCKET was set (the broker runs under a Type=notify unit). */
  readonly enabled: boolean
  /** Sends READY=1 (and a STATUS line) and starts the watchdog pings. */
  ready: (status: string) => void
  /** Sends STATUS=… */
  status: (status: string) => void
  /** Sends STOPPING=1 and stops the pings. */
  stopping: () => void
  /** Stops the pings. */
  close: () => void
}

/** Options for tests: another command than systemd-notify. */
export interface NotifyOptions {
  command?: string
}

/** Builds the notifier from the environment systemd gives the main process. */
export function createSystemdNotifier (env: NodeJS.ProcessEnv, logger: Logger, options: NotifyOptions = {}): SystemdNotifier {
  const socket = env.NOTIFY_SOCKET
  const command = options.command ?? 'systemd-notify'
  let timer: NodeJS.Timeout | undefined
  let inFlight = false
  let warned = false
  const send = (vars: string[], onDone?: () => void): void => {
    if (socket === undefined || socket === '') return
    const child = loadBuiltin<typeof import('node:child_process')>('node:child_process').spawn(command, vars, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NOTIFY_SOCKET: socket } })
    let err = ''
    child.stderr?.on('data', (d: Buffer) => { if (err.length < 500) err += d.toString() })
    child.on('error', (e) => {
      if (!warned) { warned = true; logger.warn('cannot notify systemd', { command, error: e.message }) }
      onDone?.()
    })
    child.on('exit', (code) => {
      if (code !== 0 && !warned) { warned = true; logger.warn('systemd-notify failed', { code: code ?? -1, error: err.trim() }) }
      onDone?.()
    })
  }
  // systemd sets WATCHDOG_USEC (and WATCHDOG_PID: only that process may ping).
  const usec = Number(env.WATCHDOG_USEC)
  const watchdogPid = env.WATCHDOG_PID === undefined ? undefined : Number(env.WATCHDOG_PID)
  const watchdogMs = Number.isFinite(usec) && usec > 0 && (watchdogPid === undefined || watchdogPid === process.pid) ? usec / 1000 : 0
  const ping = (): void => {
    // One ping at a time: a slow spawn must not pile processes up.
    if (inFlight) return
    inFlight = true
    send(['WATCHDOG=1'], () => { inFlight = false })
  }
  return {
    enabled: socket !== undefined && socket !== '',
    ready: (status) => {
      send(['READY=1', `STATUS=${status}`])
      if (socket !== undefined && socket !== '' && watchdogMs > 0 && timer === undefined) {
        // A third of the period: a ping may be late or lost once without a restart.
        timer = setInterval(ping, Math.max(100, Math.floor(watchdogMs / 3)))
        timer.unref()
        logger.info('systemd watchdog on', { periodMs: Math.round(watchdogMs) })
      }
    },
    status: (status) => { send([`STATUS=${status}`]) },
    stopping: () => {
      if (timer !== undefined) clearInterval(timer)
      timer = undefined
      send(['STOPPING=1'])
    },
    close: () => {
      if (timer !== undefined) clearInterval(timer)
      timer = undefined
    }
  }
}
