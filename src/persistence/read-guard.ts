// Streams of stored records (retained lookups, queue drains, wills) that end
// quietly once the store closes. aedes starts a retained lookup for every
// SUBSCRIBE; one still running when the broker stops met a closed iterator
// ("Iterator is not open" / "Database is not open") and emitted an 'error'
// nobody listened to, which crashed the process at shutdown.
import { Readable } from 'node:stream'

/** Wraps record streams so that closing the store ends them instead of failing them. */
export class ReadGuard {
  private closedFlag = false

  /** Whether the store is closing or closed: reads end with what they have. */
  get closed (): boolean {
    return this.closedFlag
  }

  /** Marks the store as closing; call before the database closes (which closes every open iterator). */
  close (): void {
    this.closedFlag = true
  }

  /** A Readable of `source()`; once the store closes it ends (no 'error'), even mid-scan. */
  stream<T> (source: () => AsyncGenerator<T>): Readable {
    const guard = this
    async function * guarded (): AsyncGenerator<T> {
      if (guard.closedFlag) return
      try {
        for await (const item of source()) {
          if (guard.closedFlag) return
          yield item
        }
      } catch (err) {
        // a closed store is the end of the data, not a fault worth a crash
        if (guard.closedFlag) return
        throw err
      }
    }
    return Readable.from(guarded())
  }
}

/**
 * A record stream with nothing in it, for a read the store knows has no
 * result (no queue, no retained message under the filter): no generator, no
 * iterator, no wait for the write queue.
 */
export function endedStream (): Readable {
  // highWaterMark 1 as Readable.from gives the record streams it stands in for
  return new Readable({ objectMode: true, highWaterMark: 1, read () { this.push(null) } })
}
