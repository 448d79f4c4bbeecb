// The bytes a connection's mqtt-packet parser has received and not consumed
// yet: the part of bl's BufferList the parser calls (append, consume, length,
// readUInt8/16BE/32BE, slice, toString), with the same results, without a
// Buffer view per read. bl reads a byte by slicing a one-byte Buffer out of
// its list (slice -> copy -> Buffer#slice) and consumes a packet by slicing
// the rest of the first chunk; a QoS 1 PUBLISH made six to eight Buffer
// views, ~850 bytes of garbage per message (issue 11's enqueue profile).
// Here the first chunk keeps its place and an offset (`head`) moves instead;
// a read inside one chunk indexes it.
// Installed by use-plain-buffer-list.ts. Canary:
// test/engine/use-plain-buffer-list.test.ts (the parser calls nothing else;
// every packet of a corpus, in one chunk and byte by byte, and random packet
// streams in random chunks parse to what bl gives; call-by-call answers match
// bl's BufferList).

/** Thrown for a read past the end, as a Buffer read throws (bl reads from a shorter slice). */
function outOfBounds (): RangeError {
  return Object.assign(new RangeError('Attempt to access memory outside buffer bounds'), { code: 'ERR_BUFFER_OUT_OF_BOUNDS' })
}

const EMPTY = Buffer.alloc(0)

/** mqtt-packet's parser's `_list`. */
export class ParserBytes {
  /** Bytes held (not consumed). */
  length = 0
  private readonly bufs: Buffer[] = []
  /** Bytes of bufs[0] consumed already. */
  private head = 0
  /** Set by locate(): the offset inside the chunk it found. */
  private found = 0

  /** Adds received bytes at the end (a Buffer, a Uint8Array, a string, an array of those, as bl takes them). */
  append (buf: unknown): this {
    if (Buffer.isBuffer(buf)) {
      if (buf.length > 0) { this.bufs.push(buf); this.length += buf.length }
    } else if (Array.isArray(buf)) {
      for (const b of buf) this.append(b)
    } else if (buf instanceof ParserBytes) {
      buf.bufs.forEach((b, i) => { this.append(i === 0 ? b.subarray(buf.head) : b) })
    } else if (buf instanceof Uint8Array) {
      this.append(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength))
    } else if (buf !== null && buf !== undefined) {
      this.append(Buffer.from(typeof buf === 'number' ? String(buf) : buf as string))
    }
    return this
  }

  /** Drops `bytes` from the start. */
  consume (bytes: number): this {
    let n = Math.trunc(bytes)
    if (Number.isNaN(n) || n <= 0) return this
    while (this.bufs.length > 0) {
      const left = this.bufs[0].length - this.head
      if (n < left) {
        this.head += n
        this.length -= n
        return this
      }
      n -= left
      this.length -= left
      this.bufs.shift()
      this.head = 0
    }
    return this
  }

  readUInt8 (offset = 0): number {
    if (offset < 0 || offset + 1 > this.length) throw outOfBounds()
    return this.bufs[this.locate(offset)][this.found]
  }

  readUInt16BE (offset = 0): number {
    if (offset < 0 || offset + 2 > this.length) throw outOfBounds()
    const b = this.bufs[this.locate(offset)]
    const at = this.found
    if (at + 2 <= b.length) return (b[at] << 8) | b[at + 1]
    return (this.readUInt8(offset) << 8) | this.readUInt8(offset + 1)
  }

  readUInt32BE (offset = 0): number {
    if (offset < 0 || offset + 4 > this.length) throw outOfBounds()
    const b = this.bufs[this.locate(offset)]
    const at = this.found
    if (at + 4 <= b.length) return b.readUInt32BE(at)
    return this.readUInt16BE(offset) * 0x10000 + this.readUInt16BE(offset + 2)
  }

  /** Bytes `start` to `end` (a view when they lie in one received chunk, as bl's slice; else a copy). */
  slice (start?: number, end?: number): Buffer {
    const [s, e] = this.range(start, end)
    if (e <= s) return EMPTY
    let i = this.locate(s)
    let at = this.found
    const n = e - s
    const b = this.bufs[i]
    if (at + n <= b.length) return b.subarray(at, at + n)
    const out = Buffer.allocUnsafe(n)
    let filled = 0
    for (; filled < n; i++, at = 0) filled += this.bufs[i].copy(out, filled, at, Math.min(this.bufs[i].length, at + n - filled))
    return out
  }

  toString (encoding?: BufferEncoding, start?: number, end?: number): string {
    const [s, e] = this.range(start, end)
    if (e <= s) return ''
    const b = this.bufs[this.locate(s)]
    const at = this.found
    if (at + e - s <= b.length) return b.toString(encoding, at, at + e - s)
    return this.slice(s, e).toString(encoding)
  }

  // The chunk holding byte `offset` (counted from the head): its index; the offset inside it in `found` (no array per call)
  private locate (offset: number): number {
    let i = 0
    let at = this.head + offset
    while (at >= this.bufs[i].length) { at -= this.bufs[i].length; i++ }
    this.found = at
    return i
  }

  // bl's bounds: negative counts from the end; start clamped at 0, end at the length
  private range (start?: number, end?: number): [number, number] {
    let s = typeof start === 'number' ? (start < 0 ? start + this.length : start) : 0
    let e = typeof end === 'number' ? (end < 0 ? end + this.length : end) : this.length
    if (s < 0) s = 0
    if (e > this.length) e = this.length
    if (s >= this.length) return [0, 0]
    return [s, e]
  }
}
