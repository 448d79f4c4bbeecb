// The notAfter of the certificates a config names: each listener's cert and
// each bridge's client cert and CA. Read at scrape time, cached by file and
// modification time, so a certificate renewed on disk shows at the next read.
import { X509Certificate } from 'node:crypto'
import { readFile, stat } from 'node:fs/promises'
import type { EdgemqConfig } from '../config/types.ts'

/** One certificate as the API and the metric report it. */
export interface CertificateInfo {
  owner: 'listener' | 'bridge'
  name: string
  file: string
  subject?: string
  notAfter?: string
  /** notAfter as a Unix time in seconds. */
  expiresAt?: number
  daysLeft?: number
  error?: string
}

/** The certificate files a config names, with their owners. */
export function certificateFiles (config: EdgemqConfig): Array<{ owner: 'listener' | 'bridge', name: string, file: string }> {
  const out: Array<{ owner: 'listener' | 'bridge', name: string, file: string }> = []
  for (const l of config.listeners) if (typeof l.cert === 'string') out.push({ owner: 'listener', name: l.name, file: l.cert })
  const bridges = Array.isArray(config.bridges) ? config.bridges as Array<{ name?: unknown, tls?: { cert?: unknown, ca?: unknown } }> : []
  for (const b of bridges) {
    const name = typeof b.name === 'string' ? b.name : '?'
    if (typeof b.tls?.cert === 'string') out.push({ owner: 'bridge', name, file: b.tls.cert })
    if (typeof b.tls?.ca === 'string') out.push({ owner: 'bridge', name, file: b.tls.ca })
  }
  return out
}

/** Reads certificates, remembering each file's result until it changes on disk. */
export class CertificateReader {
  readonly #cache = new Map<string, { mtime: number, info: Omit<CertificateInfo, 'owner' | 'name' | 'daysLeft'> }>()

  /** The certificates of a config, each with its days left (wall clock: expiry is a calendar date). */
  async read (config: EdgemqConfig): Promise<CertificateInfo[]> {
    const out: CertificateInfo[] = []
    for (const f of certificateFiles(config)) {
      const info = await this.#one(f.file)
      out.push({ owner: f.owner, name: f.name, ...info, daysLeft: info.expiresAt === undefined ? undefined : Math.floor((info.expiresAt * 1000 - Date.now()) / 86_400_000) })
    }
    return out
  }

  async #one (file: string): Promise<Omit<CertificateInfo, 'owner' | 'name' | 'daysLeft'>> {
    try {
      const st = await stat(file)
      const hit = this.#cache.get(file)
      if (hit !== undefined && hit.mtime === st.mtimeMs) return hit.info
      // The first certificate of the file: the leaf of a chain, or the first CA of a bundle.
      const cert = new X509Certificate(await readFile(file))
      const expires = new Date(cert.validTo)
      const info = { file, subject: cert.subject.replace(/\n/g, ', '), notAfter: expires.toISOString(), expiresAt: Math.floor(expires.getTime() / 1000) }
      this.#cache.set(file, { mtime: st.mtimeMs, info })
      return info
    } catch (err) {
      return { file, error: `cannot read: ${(err as Error).message}` }
    }
  }
}
