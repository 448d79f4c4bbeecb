// Follows packet boundaries in an MQTT byte stream from the fixed headers
// alone [MQTT-2.2]: the first byte, then the remaining length (a variable byte
// integer of at most four bytes), then that many body bytes skipped unread.
// mqtt-packet (under aedes and MQTT.js) buffers a whole packet of up to 256 MB
// before anyone looks at its size; this sees the declared size as soon as the
// length bytes arrive, so a caller can refuse the packet before its body is
// buffered. Used by the frame guard of every listener (src/listeners/frame-guard.ts) and by
// the bridge's upstream link (src/bridge/packet-size-guard.ts).

/** A packet over the limit (its declared size), or a remaining length MQTT cannot express; `offset` is where that packet starts in the chunk fed (0 when it started in an earlier chunk). */
export type ScanProblem =
  | { kind: 'oversize', size: number, limit: number, offset: number }
  | { kind: 'malformed', offset: number }

/** Tracks packet boundaries in an MQTT byte stream from fixed headers only. */
export class FixedHeaderScanner {
  private readonly limit: () => number
  /** Bytes still to skip in the current packet body. */
  private remaining = 0
  /** -1 = expect a first header byte; 0..3 = remaining-length bytes read so far. */
  private lengthBytes = -1
  private value = 0
  private multiplier = 1

  /** `maxPacketSize` in bytes, or a function read at each packet (a limit that reloads live). */
  constructor (maxPacketSize: number | (() => number)) {
    this.limit = typeof maxPacketSize === 'number' ? () => maxPacketSize : maxPacketSize
  }

  /** Feeds bytes; returns the first problem in them, or undefined when every packet so far is within the limit. */
  feed (chunk: Uint8Array): ScanProblem | undefined {
    let i = 0
    let start = 0 // where the packet whose header is being read began in this chunk
    while (i < chunk.length) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, chunk.length - i)
        this.remaining -= take
        i += take
        continue
      }
      const byte = chunk[i++]
      if (this.lengthBytes === -1) { // first byte: packet type and flags
        start = i - 1
        this.lengthBytes = 0
        this.value = 0
        this.multiplier = 1
        continue
      }
      this.value += (byte & 0x7f) * this.multiplier
      this.multiplier *= 128
      this.lengthBytes++
      if ((byte & 0x80) !== 0) {
        // [MQTT-2.2.3] the remaining length is at most four bytes
        if (this.lengthBytes === 4) return { kind: 'malformed', offset: start }
        continue
      }
      const size = 1 + this.lengthBytes + this.value
      const limit = this.limit()
      if (size > limit) return { kind: 'oversize', size, limit, offset: start }
      this.remaining = this.value
      this.lengthBytes = -1
    }
    return undefined
  }
}
