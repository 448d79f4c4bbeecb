// The listeners' half of a reload (src/reload-transaction.ts). Prepare reads
// and checks every TLS file of the new config and the ports its listeners
// share, and binds nothing; commit stops the listeners whose settings changed,
// starts the new ones and swaps the certificates of the others. A port taken
// since prepare fails the commit: the listeners are put back as they were and
// the error thrown, so the transaction changes nothing else either.
import type { ListenerConfig } from '../config/types.ts'
import type { Logger } from '../observability/logger.ts'
import { EdgemqError, ERROR_CODES } from '../errors.ts'
import type { PreparedReload } from '../reload-transaction.ts'
import { checkPortConflicts } from '../preflight-config.ts'
import { checkTlsContext, loadTlsOptions, type RunningListener } from './start-listener.ts'

/** Listeners restart only when a setting other than their certificate files changed. */
function sameListener (a: ListenerConfig, b: ListenerConfig): boolean {
  return JSON.stringify({ ...a, cert: 0, key: 0, ca: 0, crl: 0 }) === JSON.stringify({ ...b, cert: 0, key: 0, ca: 0, crl: 0 })
}

/** Prepares the running `listeners` (a map the commit updates) for `next`. */
export async function prepareListenersReload (listeners: Map<string, RunningListener>, next: readonly ListenerConfig[], startOne: (l: ListenerConfig) => Promise<void>, log: Logger): Promise<PreparedReload> {
  const problems = [...checkPortConflicts(next)]
  const swaps: Array<{ running: RunningListener, wanted: ListenerConfig, swap: () => void }> = []
  const toStop: RunningListener[] = []
  const toStart: ListenerConfig[] = []
  for (const [name, running] of listeners) {
    const wanted = next.find((l) => l.name === name)
    if (wanted === undefined || !sameListener(wanted, running.config)) { toStop.push(running); continue }
    try { swaps.push({ running, wanted, swap: await running.prepareTls(wanted) }) } catch (err) { problems.push((err as Error).message) }
  }
  for (const l of next) {
    if (listeners.has(l.name) && !toStop.some((r) => r.config.name === l.name)) continue
    toStart.push(l)
    if (l.type === 'tls' || l.type === 'wss') {
      try { checkTlsContext(l, await loadTlsOptions(l)) } catch (err) { problems.push((err as Error).message) }
    }
  }
  if (problems.length > 0) throw new EdgemqError(ERROR_CODES.LISTENER_FAILED, problems.join('; '), { problems })

  const started: string[] = []
  const restore = async (): Promise<void> => {
    for (const name of started) { await listeners.get(name)?.close(); listeners.delete(name) }
    started.length = 0
    for (const r of toStop) {
      if (listeners.has(r.config.name)) continue
      await startOne(r.config).catch((e: Error) => { log.error('listener could not be restored', { listener: r.config.name, error: e.message }) })
    }
  }
  return {
    commit: async () => {
      try {
        for (const r of toStop) {
          await r.close()
          listeners.delete(r.config.name)
          log.info('listener stopped', { listener: r.config.name })
        }
        for (const l of toStart) { await startOne(l); started.push(l.name) }
      } catch (err) {
        await restore()
        throw err
      }
      // Nothing can fail from here: the certificates were read and checked in prepare.
      for (const s of swaps) { s.swap(); s.running.config = s.wanted }
    },
    undo: restore
  }
}
