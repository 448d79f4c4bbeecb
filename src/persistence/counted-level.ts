// A count of the root LevelDB's reads, so that "this path costs no disk" is
// something a test and `ctl stats` can show rather than a claim (issue 10: a
// clean-session CONNECT opened LevelDB iterators). Writes are counted by the
// write queue (write-queue.ts), the one way the store writes.
//
// Every read reaches the root's public methods: abstract-level's keys() and
// values() walk an iterator() of the same database, and a sublevel forwards
// its get/getMany/has and its iterators to its parent and root. Counting the
// root's methods catches every call site without touching them.
import type { ClassicLevel } from 'classic-level'

/** Reads the store has made since it was created. */
export interface LevelReads {
  /** LevelDB iterators opened (a range scan, a keys() or values() walk). */
  iterators: number
  /** Point reads: get, getSync, getMany (one per call), has, hasMany. */
  gets: number
}

type Method = (...args: never[]) => unknown

function counted<F extends Method> (fn: F, bump: () => void): F {
  return function (this: unknown, ...args: Parameters<F>): ReturnType<F> {
    bump()
    return fn.apply(this, args) as ReturnType<F>
  } as F
}

/** Counts the reads of `db` from now on; returns the live counters. */
export function countReads (db: ClassicLevel<Buffer, Buffer>): LevelReads {
  const reads: LevelReads = { iterators: 0, gets: 0 }
  const iterator = (): void => { reads.iterators++ }
  const get = (): void => { reads.gets++ }
  db.iterator = counted(db.iterator, iterator)
  db.get = counted(db.get, get)
  db.getSync = counted(db.getSync, get)
  db.getMany = counted(db.getMany, get)
  db.has = counted(db.has, get)
  db.hasMany = counted(db.hasMany, get)
  return reads
}
