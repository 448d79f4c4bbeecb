// What the pieces of the persistence share: the database, the write queue,
// at-rest sealing, the sequence allocator and the quarantine.
import type { Logger } from '../observability/logger.ts'
import type { RootLevel } from './open-store.ts'
import { ReadGuard } from './read-guard.ts'
import { RecordCorruptError } from './record-codec.ts'
import { KIND_NAMES, metaKey, quarantineKey } from './store-keys.ts'
import type { WriteOp, WriteQueue } from './write-queue.ts'

/** Optional at-rest encryption of values (keys stay clear: they carry client ids and topics for range scans). */
export interface ValueCipher {
  seal: (plain: Uint8Array) => Uint8Array
  open: (sealed: Uint8Array) => Uint8Array
}

// Sequence numbers are handed out from a reserve persisted in the same batch as
// the first key that uses it, so a restart never reuses a sequence number
// (which would overwrite a queued message) and never needs a full scan.
const SEQ_BLOCK = 1_000_000

/** Shared state of one open store. */
export class StoreContext {
  readonly db: RootLevel
  readonly queue: WriteQueue
  readonly logger: Logger
  /** Ends record streams quietly once the store closes. */
  readonly reads = new ReadGuard()
  private readonly cipher: ValueCipher | undefined
  private nextSeq = 1
  private seqReserve = 0
  quarantined = 0

  constructor (options: { db: RootLevel, queue: WriteQueue, logger: Logger, cipher?: ValueCipher }) {
    this.db = options.db
    this.queue = options.queue
    this.logger = options.logger
    this.cipher = options.cipher
  }

  /** Loads the sequence reserve; every sequence used before the restart is below it. */
  async loadSequence (): Promise<void> {
    const raw = await this.db.get(metaKey('seq'))
    if (raw !== undefined && raw.length === 8) {
      this.nextSeq = raw.readUInt32BE(0) * 0x1_0000_0000 + raw.readUInt32BE(4)
      this.seqReserve = this.nextSeq
    }
  }

  /**
   * Next sequence number. When the block is used up, the new reserve joins
   * the next batch the queue writes (writeFirst), so it lands no later than
   * the first key using it, whichever write that key is in.
   */
  allocSeq (): number {
    const seq = this.nextSeq++
    if (seq >= this.seqReserve) {
      this.seqReserve = seq + SEQ_BLOCK
      const value = Buffer.allocUnsafe(8)
      value.writeUInt32BE(Math.floor(this.seqReserve / 0x1_0000_0000), 0)
      value.writeUInt32BE(this.seqReserve >>> 0, 4)
      this.queue.writeFirst({ type: 'put', key: metaKey('seq'), value })
    }
    return seq
  }

  /** Seals a record for storage (identity without a cipher). */
  seal (record: Buffer): Buffer {
    if (this.cipher === undefined) return record
    const sealed = this.cipher.seal(record)
    return Buffer.isBuffer(sealed) ? sealed : Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength)
  }

  /** Opens a stored value; a failure is a RecordCorruptError (quarantined by the caller). */
  open (value: Buffer): Buffer {
    if (this.cipher === undefined) return value
    let plain: Uint8Array
    try {
      plain = this.cipher.open(value)
    } catch (err) {
      throw new RecordCorruptError(`value does not open with the at-rest key: ${(err as Error).message}`)
    }
    return Buffer.isBuffer(plain) ? plain : Buffer.from(plain.buffer, plain.byteOffset, plain.byteLength)
  }

  /**
   * Moves an undecodable record out of the way (to the Q range, kept for
   * forensics) and logs it. Never throws: a bad record must not stop the broker.
   */
  quarantine (key: Buffer, value: Buffer | undefined, reason: string): void {
    this.quarantined++
    this.logger.warn('record quarantined', { kind: KIND_NAMES[key[0]] ?? `0x${key[0]?.toString(16)}`, key: key.toString('hex').slice(0, 80), reason })
    const ops: WriteOp[] = [{ type: 'del', key }]
    if (value !== undefined) ops.push({ type: 'put', key: quarantineKey(key), value })
    this.queue.write(ops).catch((err: Error) => {
      this.logger.error('quarantine write failed', { error: err.message })
    })
  }

  /** Runs `decode` on a stored value; on damage quarantines it and returns undefined. */
  decodeOrQuarantine<T> (key: Buffer, value: Buffer, decode: (plain: Buffer) => T, validate?: (decoded: T) => string | undefined): T | undefined {
    try {
      const decoded = decode(this.open(value))
      const problem = validate?.(decoded)
      if (problem !== undefined) throw new RecordCorruptError(problem)
      return decoded
    } catch (err) {
      this.quarantine(key, value, err instanceof RecordCorruptError ? err.message : `undecodable: ${(err as Error).message}`)
      return undefined
    }
  }
}
