// The in-memory index of one client's outgoing messages: aedes finds a queued
// message again by (brokerId, brokerCounter) or by packet id. It holds the
// messages this process enqueued for a connected client or streamed out; any
// other lookup falls back to a scan of that client's range (correct, only
// slower), so the index may be incomplete but never wrong.
import type { StoredPacket } from './record-codec.ts'

/** One queued message (or PUBREL phase) as the index knows it. */
export interface Entry {
  seq: number
  /** Decoded or enqueued packet (without its packet id), when known. */
  packet?: StoredPacket
  messageId?: number
  pubrel?: boolean
  counterKey?: string
  /** Whether a U record exists for it. */
  stateStored?: boolean
}

// Bounds the index of a client whose messages are never acknowledged (for
// instance deliveries aedes makes without outgoingUpdate); beyond it lookups
// fall back to scanning that client's range.
const MAX_INDEX_PER_CLIENT = 4096

/** A client's index: by counter key and by packet id. */
export class ClientIndex {
  readonly byCounter = new Map<string, Entry>()
  readonly byMessageId = new Map<number, Entry>()
  /** Every packet id the client's stored messages hold is in byMessageId (read once per process). */
  storedIdsKnown = false
  /** The read of those ids, while it runs: every delivery waits for the same one, so they keep their order. */
  storedIdsLoading: Promise<void> | undefined

  add (entry: Entry): void {
    if (entry.counterKey !== undefined) {
      if (this.byCounter.size >= MAX_INDEX_PER_CLIENT && !this.byCounter.has(entry.counterKey)) {
        const oldest = this.byCounter.keys().next().value
        if (oldest !== undefined) this.byCounter.delete(oldest)
      }
      this.byCounter.set(entry.counterKey, entry)
    }
    if (entry.messageId !== undefined) this.byMessageId.set(entry.messageId, entry)
  }

  drop (entry: Entry): void {
    if (entry.counterKey !== undefined && this.byCounter.get(entry.counterKey) === entry) this.byCounter.delete(entry.counterKey)
    if (entry.messageId !== undefined && this.byMessageId.get(entry.messageId) === entry) this.byMessageId.delete(entry.messageId)
  }
}

/** The index key of a message: broker id and counter (undefined for a packet without them). */
export function counterKeyOf (p: StoredPacket): string | undefined {
  return p.brokerId ? `${String(p.brokerId)}\u0000${String(p.brokerCounter)}` : undefined
}

// Links a streamed packet to its index entry without becoming one of its fields.
const ENTRY = Symbol('edgemq.outgoingEntry')

/** Links `packet` (handed to aedes) to its entry, invisibly to aedes (not enumerable). */
export function linkEntry (packet: StoredPacket, entry: Entry): void {
  Object.defineProperty(packet, ENTRY, { value: entry, enumerable: false })
}

/** The entry a streamed packet was linked to. */
export function entryOf (packet: StoredPacket): Entry | undefined {
  return (packet as { [ENTRY]?: Entry })[ENTRY]
}
