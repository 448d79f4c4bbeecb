// The observability part (last in src/parts.ts): the http/https listeners'
// handler, and the figures no other part owns: the process (RSS, heap,
// event-loop delay), the store (size on disk, syncs, journal), certificate
// expiry, the board profile and the build. It reads; it never changes
// behaviour. A reload re-reads the token files first and refuses the whole
// reload when one is bad (all or nothing, like every part).
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import type { AttachPart } from '../part-context.ts'
import { getBoard } from '../config/boards.ts'
import type { EdgemqConfig } from '../config/types.ts'
import { CertificateReader } from './certificate-expiry.ts'
import { HttpAccess } from './http-access.ts'
import { HttpApp } from './http-app.ts'

/** Event-loop delay: libuv's sampling timer period, and how long one window of figures lasts. */
const LOOP_RESOLUTION_MS = 50
const LOOP_WINDOW_MS = 60_000

/** The store folder's size is walked at most this often (an SD card is slow to list). */
const STORE_SIZE_EVERY_MS = 30_000

/** Attaches the observability part; without `ctx.observe` (library use) it does nothing. */
export const observabilityPart: AttachPart = async (ctx) => {
  const observe = ctx.observe
  if (observe === undefined) return {}
  let config: EdgemqConfig = ctx.config
  const access = new HttpAccess(observe)
  await access.load(config) // a bad token file stops the start with its fix
  const app = new HttpApp(observe, access)
  observe.setHttpHandler((l, req, res) => { app.handle(l, req, res) })
  const m = observe.metrics
  const version = typeof EDGEMQ_VERSION === 'string' ? EDGEMQ_VERSION : 'dev'
  const started = performance.now()

  m.read('edgemq_build_info', (emit) => { emit(1, { version, board: config.board }) })
  m.read('edgemq_http_requests_total', (emit) => { for (const a of app.answered()) emit(a.n, { listener: a.listener, code: a.code }) })

  // Event-loop delay: libuv samples it with a timer of its own, so it runs
  // only while an http listener is configured (an idle gateway without one
  // wakes up for nothing). The window restarts every minute, not at a read:
  // $SYS, the page and Prometheus all read the same figures.
  const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS })
  let loopWindow: NodeJS.Timeout | undefined
  const watchLoop = (c: EdgemqConfig): void => {
    const wanted = c.listeners.some((l) => l.type === 'http' || l.type === 'https')
    if (wanted && loopWindow === undefined) {
      loop.enable()
      loopWindow = setInterval(() => { loop.reset() }, LOOP_WINDOW_MS)
      loopWindow.unref()
    } else if (!wanted && loopWindow !== undefined) {
      loop.disable()
      clearInterval(loopWindow)
      loopWindow = undefined
    }
  }
  watchLoop(config)
  m.read('edgemq_event_loop_delay_seconds', (emit) => {
    if (loopWindow === undefined) return
    emit(loop.percentile(50) / 1e9, { quantile: '0.5' })
    emit(loop.percentile(99) / 1e9, { quantile: '0.99' })
    emit(loop.max / 1e9, { quantile: '1' })
  })
  m.read('edgemq_process_resident_memory_bytes', (emit) => { emit(process.memoryUsage.rss()) })
  m.read('edgemq_heap_used_bytes', (emit) => { emit(process.memoryUsage().heapUsed) })

  // The store
  const storeStats = (): Record<string, number> => ctx.store.stats()
  let size = { bytes: 0, at: -Infinity }
  const storeSize = async (): Promise<number> => {
    if (performance.now() - size.at < STORE_SIZE_EVERY_MS) return size.bytes
    size = { bytes: await folderSize(config.persistence.path), at: performance.now() }
    return size.bytes
  }
  m.read('edgemq_store_size_bytes', async (emit) => { emit(await storeSize()) })
  m.read('edgemq_journal_pending_messages', (emit) => { emit(storeStats().persistenceJournalPending ?? 0) })
  m.read('edgemq_store_syncs_total', (emit) => { emit(storeStats().persistenceSyncs ?? 0) })
  m.read('edgemq_store_sync_seconds_total', (emit) => { emit(storeStats().persistenceSyncSeconds ?? 0) })
  m.read('edgemq_store_last_sync_seconds', (emit) => { emit(storeStats().persistenceLastSyncSeconds ?? 0) })
  m.read('edgemq_subscriptions', (emit) => { emit(storeStats().persistenceSubscriptions ?? 0) })
  m.read('edgemq_sessions', (emit) => { emit(storeStats().persistenceClients ?? 0) })
  m.read('edgemq_offline_queue_dropped_total', (emit) => { emit(storeStats().persistenceQueueDropped ?? 0) })
  // absent (no sample) until the store has counted its queues after start: unknown is not 0
  m.read('edgemq_offline_queue_messages', (emit) => { const n = storeStats().persistenceQueuedMessages; if (n !== undefined) emit(n) })
  m.read('edgemq_offline_queue_bytes', (emit) => { const n = storeStats().persistenceQueuedBytes; if (n !== undefined) emit(n) })
  m.read('edgemq_messages_dropped_total', (emit) => {
    const s = storeStats()
    const byQuota = s.persistenceQueueDroppedByQuota ?? 0
    emit((s.persistenceQueueDropped ?? 0) - byQuota, { reason: 'queue_cap' })
    emit(byQuota, { reason: 'queue_quota' })
  })
  observe.addStatus('store', () => {
    const s = storeStats()
    return {
      path: config.persistence.path,
      sync: config.persistence.sync,
      open: observe.readiness().checks.find((c) => c.name === 'store')?.ok ?? false,
      sizeBytes: size.bytes,
      journalPending: s.persistenceJournalPending ?? 0,
      syncs: s.persistenceSyncs ?? 0,
      lastSyncSeconds: s.persistenceLastSyncSeconds ?? 0,
      subscriptions: s.persistenceSubscriptions ?? 0,
      sessions: s.persistenceClients ?? 0,
      queueDropped: s.persistenceQueueDropped ?? 0,
      queuedMessages: s.persistenceQueuedMessages ?? null,
      queuedBytes: s.persistenceQueuedBytes ?? null
    }
  })

  // Certificates
  const certs = new CertificateReader()
  let lastCerts: Awaited<ReturnType<CertificateReader['read']>> = []
  m.read('edgemq_certificate_expiry_timestamp_seconds', async (emit) => {
    lastCerts = await certs.read(config)
    for (const c of lastCerts) if (c.expiresAt !== undefined) emit(c.expiresAt, { owner: c.owner, name: c.name, file: c.file })
  })
  observe.addStatus('certificates', () => lastCerts)
  const refreshCerts = (): void => { void certs.read(config).then((c) => { lastCerts = c }, () => {}) }
  refreshCerts()

  // The board and the build
  observe.addStatus('board', () => {
    try {
      const b = getBoard(config.board)
      return { name: b.name, description: b.description, arch: b.arch, memoryCapMiB: b.memoryCapMiB, settings: b.settings }
    } catch {
      return { name: config.board }
    }
  })
  observe.addStatus('broker', () => ({ version, pid: process.pid, uptimeSeconds: Math.round((performance.now() - started) / 1000) }))

  return {
    // Reload, first half (src/reload-transaction.ts): token files read and checked; applied at commit.
    prepareReload: async (next) => {
      const tokens = await access.prepare(next) // throws (changing nothing) when a token file is bad
      const before = config
      return {
        commit: () => { tokens.commit(); config = next; watchLoop(next); refreshCerts() },
        undo: () => { tokens.undo(); config = before; watchLoop(before); refreshCerts() }
      }
    },
    close: async () => {
      loop.disable()
      if (loopWindow !== undefined) clearInterval(loopWindow)
      observe.setHttpHandler(undefined)
    }
  }
}

/** Bytes of the files in a folder and its subfolders (0 when it cannot be read). */
async function folderSize (path: string): Promise<number> {
  let total = 0
  let entries
  try {
    entries = await readdir(path, { withFileTypes: true })
  } catch {
    return 0
  }
  for (const e of entries) {
    const p = join(path, e.name)
    if (e.isDirectory()) total += await folderSize(p)
    else if (e.isFile()) total += await stat(p).then((s) => s.size, () => 0)
  }
  return total
}
