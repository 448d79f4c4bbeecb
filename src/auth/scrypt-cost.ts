// The scrypt cost of new password hashes comes from the board (auth.scryptN):
// a Pi Zero 2 W computes scrypt several times slower than a Pi 5 and has a
// 160 MiB memory cap, so the same N would cost it a large share of its memory
// per login and seconds per reconnect storm. What a lower N means for an
// offline attack on a stolen password file is in docs/security.md ("Password
// hash cost per board"): the attacker's cost per guess is proportional to
// N x r (memory x time), independent of the board that wrote the hash.
import { SCRYPT_DEFAULTS, type PasswordHash } from './password-hash.ts'

/** The factor at which a hash counts as far cheaper or dearer than the board's setting. */
export const COST_FACTOR = 4

/** Memory one scrypt verification holds, bytes (128 x N x r). */
export function scryptMemory (N: number, r: number = SCRYPT_DEFAULTS.r): number {
  return 128 * N * r
}

/** How a scrypt hash compares with the board's N: 'cheaper' or 'dearer' by COST_FACTOR or more, else undefined. */
export function compareWithBoard (h: PasswordHash, boardN: number): { verdict: 'cheaper' | 'dearer', factor: number } | undefined {
  if (h.scheme !== 'scrypt') return undefined
  const ratio = scryptMemory(h.N, h.r) / scryptMemory(boardN)
  if (ratio <= 1 / COST_FACTOR) return { verdict: 'cheaper', factor: Math.round(1 / ratio) }
  if (ratio >= COST_FACTOR) return { verdict: 'dearer', factor: Math.round(ratio) }
  return undefined
}

/** "N=16384 r=8 (16 MiB)" for messages. */
export function describeScrypt (N: number, r: number = SCRYPT_DEFAULTS.r): string {
  return `N=${N} r=${r} (${scryptMemory(N, r) / 1048576} MiB)`
}
