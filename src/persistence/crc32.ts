// CRC-32 (IEEE) of a byte range. zlib.crc32 is native from Node 20.15; older
// Node 20 gateways fall back to a table-driven version (same results).
import * as zlib from 'node:zlib'

const native = (zlib as unknown as { crc32?: (data: Uint8Array) => number }).crc32

let table: Uint32Array | undefined

/** CRC-32 of `data`, as an unsigned 32-bit integer. */
export function crc32 (data: Uint8Array): number {
  if (native !== undefined) return native(data)
  return crc32Portable(data)
}

/** The table-driven fallback, exported so tests can compare it with zlib's. */
export function crc32Portable (data: Uint8Array): number {
  table ??= buildTable()
  let c = 0xffffffff
  for (let i = 0; i < data.length; i++) c = table[(c ^ data[i]) & 0xff] ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

function buildTable (): Uint32Array {
  const t = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    t[n] = c >>> 0
  }
  return t
}
