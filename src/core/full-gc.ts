// A full, compacting garbage collection on demand (src/limits/release-after-burst.ts).
// V8 gives the `gc` function only to contexts created while its --expose-gc
// flag is on, so the flag is switched on for the one context made here and off
// again: the broker's own global scope never gets a `gc`, and the command line
// stays as the board's heap flags made it.
//
// --optimize-for-size is on for the length of the collection only: with it V8
// evacuates fragmented old-space pages and frees them (as its own memory
// reducer does); without it a forced collection left 19.5 MiB of old space
// committed for 10.6 MiB in use after issue 11's burst, with it 11.2 MiB
// (x64, Node 20.20). The canary (test/limits/full-gc.test.ts) checks on the
// Node in use that the function is there, collects, and leaves --expose-gc off.
import { setFlagsFromString } from 'node:v8'
import { loadBuiltin } from './load-builtin.ts'

let collect: (() => void) | null | undefined

/** The collector, or null when this Node gives none (then releases are skipped). */
function collector (): (() => void) | null {
  if (collect !== undefined) return collect
  const own = (globalThis as { gc?: () => void }).gc
  if (typeof own === 'function') return (collect = own)
  try {
    setFlagsFromString('--expose-gc')
    try {
      const fn: unknown = loadBuiltin<typeof import('node:vm')>('node:vm').runInNewContext('gc')
      collect = typeof fn === 'function' ? fn as () => void : null
    } finally {
      setFlagsFromString('--no-expose-gc')
    }
  } catch {
    collect = null
  }
  return collect
}

/** Runs one full, synchronous, compacting collection; false when this Node offers none. */
export function fullGc (): boolean {
  const fn = collector()
  if (fn === null) return false
  setFlagsFromString('--optimize-for-size')
  try {
    fn()
  } finally {
    setFlagsFromString('--no-optimize-for-size')
  }
  return true
}
