// `edgemq ctl apply NEW.yaml [--confirm-within 2m]`, `ctl confirm`, `ctl history`:
// change a remote gateway's config without locking yourself out.
//
// apply validates NEW as start would, swaps it in as a SIGHUP reload does, then
// probes: every listener of NEW bound, the control socket answering, and every
// bridge that was connected before connected again (within probeTimeoutMs).
// A failed probe puts the previous config back at once. With a confirmation
// window, the previous config also comes back when `ctl confirm` does not
// arrive in time (the operator lost access: the listener, the route or the VPN
// bridge they came through is gone). The config file on disk is replaced only
// by the CLI after a success or a confirm, so a restart during the window
// starts the old config too (Junos-style "commit confirmed").
// Every apply is kept with its time and outcome (a bounded history in the
// data folder), with a copy of the config it applied.
import { createHash } from 'node:crypto'
import { mkdir, readdir, readFile, rm, writeFile, appendFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { EdgemqConfig } from '../config/types.ts'
import type { Logger } from '../observability/logger.ts'
import { callControl } from './control-client.ts'
import { controlSocketPath } from './control-path.ts'

// Twenty applies cover weeks of careful changes on a gateway; each copy is a few KiB.
const HISTORY_KEEP = 20
// Bridges reconnect with backoff starting at 1 s: 15 s sees a healthy uplink back.
const DEFAULT_PROBE_TIMEOUT_MS = 15_000

/** One applied config and what became of it. */
export interface ApplyRecord {
  id: number
  time: string
  file: string
  sha256: string
  outcome: 'applied' | 'pending' | 'confirmed' | 'rolled back' | 'refused' | 'superseded'
  reason?: string
}

/** What the applier needs from the running broker. */
export interface ApplyTarget {
  current: () => EdgemqConfig
  reload: (next: EdgemqConfig) => Promise<void>
  addresses: () => Array<{ name: string }>
  /** Loads and validates a config file with the flags the broker was started with. */
  load: (path: string) => Promise<EdgemqConfig>
  /** Serializes with SIGHUP reloads. */
  serialize: <T>(work: () => Promise<T>) => Promise<T>
}

/** Keeps the apply state machine: at most one apply waiting for its confirm. */
export class ConfigApplier {
  #pending: { record: ApplyRecord, previous: EdgemqConfig, timer: NodeJS.Timeout } | undefined
  readonly #target: ApplyTarget
  readonly #historyDir: string
  readonly #log: Logger
  readonly #probeTimeoutMs: number

  constructor (target: ApplyTarget, historyDir: string, log: Logger, probeTimeoutMs = DEFAULT_PROBE_TIMEOUT_MS) {
    this.#target = target
    this.#historyDir = historyDir
    this.#log = log
    this.#probeTimeoutMs = probeTimeoutMs
  }

  /** Applies `path`; resolves to the record (refused / rolled back / applied / pending). */
  async apply (path: string, confirmWithinMs: number): Promise<ApplyRecord> {
    if (this.#pending !== undefined) {
      return { ...this.#pending.record, outcome: 'refused', reason: `apply #${this.#pending.record.id} (${this.#pending.record.file}) is waiting for its confirmation: edgemq ctl confirm, or let it roll back` }
    }
    const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => { throw new Error(`cannot read ${path}: ${err.code ?? err.message}`) })
    const record = await this.#newRecord(path, text)
    let next: EdgemqConfig
    try {
      next = await this.#target.load(path)
    } catch (err) {
      return await this.#finish(record, 'refused', `invalid, nothing changed: ${(err as Error).message}`)
    }
    return await this.#target.serialize(async () => {
      const previous = this.#target.current()
      const bridgesUp = await this.#connectedBridges(previous)
      try {
        await this.#target.reload(next)
      } catch (err) {
        return await this.#finish(record, 'refused', `reload refused, nothing changed: ${(err as Error).message}`)
      }
      const failed = await this.#probe(next, bridgesUp)
      if (failed !== undefined) {
        await this.#rollBack(previous)
        return await this.#finish(record, 'rolled back', `probe failed: ${failed}`)
      }
      if (confirmWithinMs <= 0) return await this.#finish(record, 'applied')
      const timer = setTimeout(() => { void this.#timeout() }, confirmWithinMs)
      timer.unref()
      this.#pending = { record, previous, timer }
      this.#log.warn('config applied, waiting for confirmation', { apply: record.id, file: path, confirmWithinMs })
      return await this.#finish(record, 'pending', `confirm within ${Math.round(confirmWithinMs / 1000)} s with: edgemq ctl confirm`)
    })
  }

  /** Confirms the pending apply; resolves to its record, or throws when none waits. */
  async confirm (): Promise<ApplyRecord> {
    const p = this.#pending
    if (p === undefined) throw new Error('nothing waits for a confirmation (it may have rolled back: edgemq ctl history)')
    clearTimeout(p.timer)
    this.#pending = undefined
    this.#log.info('config apply confirmed', { apply: p.record.id })
    return await this.#finish(p.record, 'confirmed')
  }

  /** A SIGHUP reload while an apply waits: the file's config wins and the apply is over. */
  async supersede (): Promise<void> {
    const p = this.#pending
    if (p === undefined) return
    clearTimeout(p.timer)
    this.#pending = undefined
    await this.#finish(p.record, 'superseded', 'a SIGHUP reloaded the config file before the confirmation')
  }

  /** The kept history, newest last. */
  async history (): Promise<ApplyRecord[]> {
    const text = await readFile(join(this.#historyDir, 'history.jsonl'), 'utf8').catch(() => '')
    return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as ApplyRecord).slice(-HISTORY_KEEP * 3)
  }

  /** Stops the confirmation timer (broker closing: the file's config is what starts next). */
  close (): void {
    if (this.#pending !== undefined) clearTimeout(this.#pending.timer)
  }

  async #timeout (): Promise<void> {
    const p = this.#pending
    if (p === undefined) return
    this.#pending = undefined
    await this.#target.serialize(async () => { await this.#rollBack(p.previous) })
    this.#log.warn('config apply not confirmed in time: previous config restored', { apply: p.record.id })
    await this.#finish(p.record, 'rolled back', 'not confirmed in time')
  }

  async #rollBack (previous: EdgemqConfig): Promise<void> {
    try {
      await this.#target.reload(previous)
    } catch (err) {
      this.#log.error('rolling back to the previous config failed', { error: (err as Error).message })
    }
  }

  /** The first probe that fails, or undefined. */
  async #probe (next: EdgemqConfig, bridgesUp: readonly string[]): Promise<string | undefined> {
    const bound = new Set(this.#target.addresses().map((a) => a.name))
    const missing = next.listeners.filter((l) => !bound.has(l.name)).map((l) => l.name)
    if (missing.length > 0) return `listener(s) not bound: ${missing.join(', ')}`
    try {
      await callControl(controlSocketPath(next), 'help', {})
    } catch (err) {
      return `the control socket does not answer: ${(err as Error).message}`
    }
    const deadline = Date.now() + this.#probeTimeoutMs
    for (;;) {
      const up = new Set(await this.#connectedBridges(next))
      const down = bridgesUp.filter((b) => !up.has(b))
      if (down.length === 0) return undefined
      if (Date.now() > deadline) return `bridge(s) connected before and not after: ${down.join(', ')}`
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
  }

  async #connectedBridges (config: EdgemqConfig): Promise<string[]> {
    try {
      const status = await callControl(controlSocketPath(config), 'bridges', {}) as Array<{ name: string, connected: boolean }>
      return status.filter((b) => b.connected).map((b) => b.name)
    } catch { return [] }
  }

  async #newRecord (file: string, text: string): Promise<ApplyRecord> {
    await mkdir(this.#historyDir, { recursive: true, mode: 0o700 })
    const last = (await this.history()).at(-1)
    const id = (last?.id ?? 0) + 1
    await writeFile(join(this.#historyDir, `${String(id).padStart(6, '0')}.yaml`), text, { mode: 0o600 })
    return { id, time: new Date().toISOString(), file, sha256: createHash('sha256').update(text).digest('hex'), outcome: 'refused' }
  }

  async #finish (record: ApplyRecord, outcome: ApplyRecord['outcome'], reason?: string): Promise<ApplyRecord> {
    const done: ApplyRecord = { ...record, time: new Date().toISOString(), outcome, ...(reason !== undefined ? { reason } : {}) }
    const history = join(this.#historyDir, 'history.jsonl')
    await appendFile(history, JSON.stringify(done) + '\n', { mode: 0o600 })
    const lines = (await readFile(history, 'utf8')).split('\n').filter(Boolean)
    if (lines.length > HISTORY_KEEP * 3) await writeFile(history, lines.slice(-HISTORY_KEEP * 3).join('\n') + '\n', { mode: 0o600 })
    // Bounded: the copies of all but the newest applies go.
    const copies = (await readdir(this.#historyDir)).filter((n) => /^\d{6}\.yaml$/.test(n)).sort()
    for (const old of copies.slice(0, Math.max(0, copies.length - HISTORY_KEEP))) await rm(join(this.#historyDir, old), { force: true })
    const log = outcome === 'refused' || outcome === 'rolled back' ? this.#log.warn : this.#log.info
    log(`config apply ${outcome}`, { apply: done.id, file: done.file, ...(reason !== undefined ? { reason } : {}) })
    return done
  }
}
