// A refused reload changes nothing (issue 15). A SIGHUP with a new ACL and a
// TLS certificate that did not exist logged "security reloaded", then "reload
// refused, config unchanged", and the new ACL stayed live: the old design
// reloaded each part in turn and rolled back by reloading the old config,
// which re-read the (new) files from disk. Now a reload is prepare-then-commit:
//
//   1. prepare: every step (each part, the listeners, the core settings) reads
//      its files and builds its new state, applying nothing. Every step is
//      prepared even after one refuses, so the operator sees every problem.
//   2. only when all prepared: commit, in order. The steps whose commit can
//      still fail (a listener whose port was taken since) come first; a commit
//      that fails must leave its own step as it was, and the steps committed
//      before it are undone from the state they kept, never by re-reading files.
import { EdgemqError, ERROR_CODES } from './errors.ts'
import type { EdgemqConfig } from './config/types.ts'
import type { Logger } from './observability/logger.ts'

/** A step's new state, built and checked but not applied. */
export interface PreparedReload {
  /** Applies the prepared state. Throws only for what prepare could not know, after restoring its own state. */
  commit: () => void | Promise<void>
  /** Puts back the state from before commit (when a later step's commit failed). */
  undo?: () => void | Promise<void>
  /** Releases what prepare built (nothing was applied). */
  abort?: () => void | Promise<void>
}

/** One participant of a reload. */
export interface ReloadStep {
  /** For messages: "security", "listeners", "bridges", ... */
  name: string
  /** Reads and checks everything for `next`, applies nothing; undefined: nothing to do. */
  prepare: (next: EdgemqConfig) => Promise<PreparedReload | undefined>
}

/** Prepares every step, then commits them all, or refuses with every step's problem and changes nothing. */
export async function runReloadTransaction (next: EdgemqConfig, steps: readonly ReloadStep[], log: Logger): Promise<void> {
  const prepared: Array<{ name: string, p: PreparedReload }> = []
  const problems: string[] = []
  for (const step of steps) {
    try {
      const p = await step.prepare(next)
      if (p !== undefined) prepared.push({ name: step.name, p })
    } catch (err) {
      const listed = (err as { problems?: readonly string[] }).problems
      for (const m of Array.isArray(listed) && listed.length > 0 ? listed : [(err as Error).message]) problems.push(`${step.name}: ${m}`)
    }
  }
  if (problems.length > 0) {
    await abortAll(prepared, log)
    throw new EdgemqError(ERROR_CODES.CONFIG_INVALID, `reload refused, nothing changed: ${problems.join('; ')}`, { problems })
  }
  const committed: typeof prepared = []
  for (let i = 0; i < prepared.length; i++) {
    const { name, p } = prepared[i]
    try {
      await p.commit()
      committed.push(prepared[i])
    } catch (err) {
      await abortAll(prepared.slice(i + 1), log)
      for (const c of committed.reverse()) {
        try { await c.p.undo?.() } catch (undoErr) { log.error('reload: could not undo a step after a later one failed', { step: c.name, error: (undoErr as Error).message }) }
      }
      throw new EdgemqError(ERROR_CODES.CONFIG_INVALID, `reload refused, nothing changed: ${name}: ${(err as Error).message}`, { cause: err, problems: [`${name}: ${(err as Error).message}`] })
    }
  }
}

async function abortAll (prepared: ReadonlyArray<{ name: string, p: PreparedReload }>, log: Logger): Promise<void> {
  for (const { name, p } of prepared) {
    try { await p.abort?.() } catch (err) { log.warn('reload: releasing a prepared step failed', { step: name, error: (err as Error).message }) }
  }
}
