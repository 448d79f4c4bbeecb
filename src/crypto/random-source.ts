// Where key generation and sealing get their random bytes. Injected so the
// known-answer vectors (test/crypto/vectors.json) are reproducible and a C
// port can check byte for byte; production always uses the OS CSPRNG.
import nacl from 'tweetnacl'

/** Returns `n` random bytes. */
export type RandomSource = (n: number) => Uint8Array

/** The OS CSPRNG (tweetnacl uses node:crypto randomBytes in Node). */
export const defaultRandom: RandomSource = (n) => nacl.randomBytes(n)

/**
 * A source that hands out the given chunks in order, each exactly as long as
 * asked for. For tests and vectors only: it throws when a chunk's length does
 * not match the request or when it runs out, so a changed draw order cannot
 * silently produce different bytes.
 */
export function createFixedRandom (chunks: readonly Uint8Array[]): RandomSource {
  const queue = [...chunks]
  return (n) => {
    const next = queue.shift()
    if (next === undefined) throw new Error(`fixed random source exhausted: asked for ${n} more bytes`)
    if (next.length !== n) throw new Error(`fixed random source: asked for ${n} bytes, next chunk has ${next.length}`)
    return Uint8Array.from(next)
  }
}
