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

  /**
   * A Readable of the items `source` reads a batch at a time: one promise per
   * batch instead of one per item and per generator (a queue replay of 50k
   * messages went through three async generators, issue 11). Like stream(),
   * highWaterMark 1 and it ends quietly once the store closes. `take` decides
   * for each item right before it is handed over (one item ahead of its
   * consumer, as Readable.from reads).
   */
  batches<T> (source: BatchSource<T>): Readable {
    const guard = this
    let batch: T[] = []
    let i = 0
    let opened = false
    let reading = false
    let ended = false
    let closing: Promise<void> | undefined
    const finish = (complete: boolean): Promise<void> => (closing ??= source.close(complete).catch(() => {}))
    const end = (complete: boolean): void => {
      if (ended) return
      ended = true
      void finish(complete).then(() => { if (!stream.destroyed) stream.push(null) })
    }
    const fill = (): void => {
      if (ended || stream.destroyed) return
      // a closed store is the end of the data, not a fault worth a crash
      if (guard.closedFlag) { end(false); return }
      while (i < batch.length) {
        const item = batch[i++]
        if (!source.take(item)) continue
        if (!stream.push(item)) return
      }
      if (reading) return
      reading = true
      const read = opened ? source.next() : source.open().then(() => { opened = true; return source.next() })
      read.then((next) => {
        reading = false
        if (next === undefined) { end(true); return }
        batch = next
        i = 0
        fill()
      }, (err: Error) => {
        reading = false
        if (guard.closedFlag) end(false)
        else stream.destroy(err)
      })
    }
    const stream = new Readable({
      objectMode: true,
      highWaterMark: 1,
      read: fill,
      destroy (err, callback) {
        ended = true
        finish(false).then(() => { callback(err) }, () => { callback(err) })
      }
    })
    return stream
  }

  /**
   * Reads `source` to its end and hands each item to `each` in order, without
   * a stream: the queue replay of a reconnecting client, which the engine
   * writes to the socket itself (src/engine/direct-queue-replay.ts). `each`
   * returns a promise when it must be waited for (a full window, a full
   * socket, a store write it depends on), undefined when it is done. `take`
   * decides for each item right before it is handed over. Like batches(), it
   * ends quietly (false) once the store closes; true when everything was
   * read. A throw from `each` or a failed read rejects, after `close`.
   */
  async drive<T> (source: BatchSource<T>, each: (item: T) => Promise<void> | undefined): Promise<boolean> {
    let complete = false
    try {
      if (this.closedFlag) return false
      await source.open()
      for (;;) {
        if (this.closedFlag) return false
        const batch = await source.next()
        if (batch === undefined) return (complete = true)
        for (let i = 0; i < batch.length; i++) {
          // a closed store is the end of the data, not a fault worth a crash
          if (this.closedFlag) return false
          const item = batch[i]
          if (!source.take(item)) continue
          const pending = each(item)
          if (pending !== undefined) await pending
        }
      }
    } catch (err) {
      if (this.closedFlag) return false
      throw err
    } finally {
      await source.close(complete).catch(() => {})
    }
  }
}

/** What ReadGuard.batches reads from. */
export interface BatchSource<T> {
  /** Starts the read (runs once, at the first read). */
  open: () => Promise<void>
  /** The next items (possibly none), or undefined at the end. */
  next: () => Promise<T[] | undefined>
  /** Whether an item read earlier is still to be handed over (called right before it is). */
  take: (item: T) => boolean
  /** Runs once: at the end (`complete`), or when the stream is destroyed or the store closes. */
  close: (complete: boolean) => Promise<void>
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
