// `edgemq start`: run the broker until SIGTERM/SIGINT; SIGHUP reloads the config.
import { getHeapStatistics } from 'node:v8'
import type { CliCommand } from '../cli-command.ts'
import { CONFIG_FLAGS_HELP, parseConfigArgs } from '../cli-args.ts'
import { loadEffectiveConfig } from '../load-effective-config.ts'
import { hasHeapFlags, heapFlags, reexecWithFlags, watchLauncher } from '../heap-flags.ts'
import { watchParentUnderNpm } from '../parent-watch.ts'
import { startBroker, type EdgemqBroker } from '../../broker.ts'
import { PARTS } from '../../parts.ts'
import { createLogger } from '../../observability/logger.ts'
import { isEdgemqError } from '../../errors.ts'
import { buildInfo } from '../build-info.ts'
import { preflightConfig } from '../../preflight-config.ts'
import { createSystemdNotifier } from '../../observability/systemd-notify.ts'
import { attachConfigApply } from '../config-apply-commands.ts'

// Past this, shutdown stops waiting for clients and writes and exits non-zero,
// so a service manager never waits forever on a stuck socket.
const SHUTDOWN_DEADLINE_MS = 10_000

/** The start command. */
export const startCommand: CliCommand = {
  name: 'start',
  summary: 'run the broker (SIGHUP reloads the config, SIGTERM/SIGINT stop it cleanly)',
  usage: `usage: edgemq start [-c FILE] [flags]\n\nWithout -c: MQTT on 127.0.0.1:1883, data in ./data, the board detected.\n\n${CONFIG_FLAGS_HELP}\n`,
  run: async (args, io) => {
    const { configPath, flags, help } = parseConfigArgs(args)
    if (help) { io.stdout.write(startCommand.usage); return 0 }
    let resolved
    try {
      resolved = await loadEffectiveConfig(configPath, flags)
    } catch (err) {
      if (!isEdgemqError(err)) throw err
      io.stderr.write(`edgemq: ${err.message}\n`)
      return 1
    }
    const flagsWanted = heapFlags(resolved.config)
    if (io.env.EDGEMQ_NO_REEXEC !== '1' && !hasHeapFlags(flagsWanted)) {
      // The launcher's parent is npm under `npm start`: when npm dies, the launcher goes, and its broker with it.
      const stopWatching = watchParentUnderNpm(io.env, () => { process.exit(1) })
      const code = await reexecWithFlags(flagsWanted)
      stopWatching()
      return code
    }
    // Everything the broker creates (store tables at each compaction, the
    // control socket, keys) is for its own user only (issue 14), whatever
    // umask the shell or unit gave it.
    process.umask(process.umask() | 0o077)
    const logger = createLogger({ level: resolved.config.logging.level, sink: (line) => { io.stderr.write(line + '\n') } })
    const log = logger.child('edgemq')
    // The same checks as `edgemq check`, all reported at once, before anything opens.
    const problems = await preflightConfig(resolved.config)
    if (problems.length > 0) {
      log.error(`cannot start: ${problems.length} problem${problems.length === 1 ? '' : 's'} (edgemq check -c FILE lists the same)`)
      for (const p of problems) log.error(`  ${p}`)
      return 1
    }
    const info = buildInfo()
    log.info('starting', {
      pid: process.pid,
      version: info.version,
      commit: info.commit,
      board: resolved.board.name,
      boardReason: resolved.boardReason,
      heapLimitMiB: Math.round(getHeapStatistics().heap_size_limit / 1048576),
      sync: resolved.config.persistence.sync
    })
    // Signals are caught before anything starts: a SIGHUP or SIGTERM that
    // arrives while the broker is still starting must not kill it outright.
    let stopRequested: string | undefined
    let onStop: (signal: string) => void = (signal) => { stopRequested = signal }
    let onHup: () => void = () => { log.info('SIGHUP while starting: reloading once started') ; pendingHup = true }
    let pendingHup = false
    const sigterm = (): void => { onStop('SIGTERM') }
    const sigint = (): void => { onStop('SIGINT') }
    const sighup = (): void => { onHup() }
    process.on('SIGTERM', sigterm)
    process.on('SIGINT', sigint)
    process.on('SIGHUP', sighup)
    // Started by a launcher that applied the heap flags: when it dies (even by
    // SIGKILL) this broker stops too, so no orphan keeps the port and the store.
    watchLauncher(() => { log.warn('the launcher process is gone: stopping'); onStop('launcher-exit') })
    const stopWatchingParent = watchParentUnderNpm(io.env, () => { log.warn('npm start is gone: stopping'); onStop('parent-exit') })
    const release = (): void => {
      process.off('SIGTERM', sigterm)
      process.off('SIGINT', sigint)
      process.off('SIGHUP', sighup)
      stopWatchingParent()
    }

    let broker: EdgemqBroker
    try {
      broker = await startBroker(resolved.config, logger, PARTS)
    } catch (err) {
      log.error(`cannot start: ${(err as Error).message}`)
      release()
      return 1
    }
    log.info('ready', { listeners: broker.addresses().map((a) => `${a.name}@${a.host}:${a.port}`).join(',') })
    // Type=notify: every listener is bound now (startBroker resolves after the last one).
    const notifier = createSystemdNotifier(io.env, log)
    notifier.ready(`serving ${broker.addresses().length} listeners`)

    let reloading = Promise.resolve()
    const applier = attachConfigApply(broker, configPath, flags, log, async (work) => {
      const run = reloading.then(work)
      reloading = run.then(() => {}, () => {})
      return await run
    })
    onHup = () => {
      reloading = reloading.then(async () => {
        await applier.supersede()
        try {
          const next = await loadEffectiveConfig(configPath, flags)
          await broker.reload(next.config)
          notifier.status(`reloaded; serving ${broker.addresses().length} listeners`)
        } catch (err) {
          // A failed reload changes nothing: the running config stays.
          const lines = isEdgemqError(err) && err.problems.length > 0 ? err.problems : [(err as Error).message]
          log.error('reload refused, config unchanged', { problems: lines.length })
          for (const l of lines) log.error(`  ${l}`)
        }
      })
    }
    if (pendingHup) onHup()
    return await new Promise<number>((resolve) => {
      let stopping = false
      onStop = (signal) => {
        if (stopping) return
        stopping = true
        log.info('stopping', { signal })
        notifier.stopping()
        const deadline = setTimeout(() => {
          log.error('shutdown deadline passed, exiting', { deadlineMs: SHUTDOWN_DEADLINE_MS })
          resolve(1)
        }, SHUTDOWN_DEADLINE_MS)
        deadline.unref()
        applier.close()
        void reloading.then(async () => await broker.close()).then(() => {
          clearTimeout(deadline)
          release()
          resolve(0)
        }, (err: Error) => {
          log.error('error while stopping', { error: err.message })
          resolve(1)
        })
      }
      if (stopRequested !== undefined) onStop(stopRequested)
    })
  }
}
