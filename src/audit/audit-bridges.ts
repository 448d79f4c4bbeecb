// The bridge checks of `edgemq audit`: the uplink is where a gateway's data
// leaves the site and crosses networks nobody here owns, so plaintext and
// unverified TLS are findings. Credentials in the config (auth.password, a
// url with userinfo) and an unbounded queue never get this far: the config
// refuses them (src/bridge/bridge-config.ts), so audit has nothing to add.
import { isLoopback } from '../config/load-config.ts'
import type { Severity } from './severity.ts'

type Add = (severity: Severity, check: string, where: string, message: string, fix: string) => void

const TLS_SCHEMES = new Set(['mqtts', 'tls', 'ssl', 'wss'])

/** Adds a finding for each weak bridge setting in `bridges` (the raw config section). */
export function auditBridges (bridges: unknown, add: Add): void {
  if (!Array.isArray(bridges)) return
  bridges.forEach((raw, i) => {
    if (typeof raw !== 'object' || raw === null) return
    const b = raw as Record<string, unknown>
    const where = `bridges[${i}]${typeof b.name === 'string' ? ` (${b.name})` : ''}`
    const urls = [...(typeof b.url === 'string' ? [b.url] : []), ...(Array.isArray(b.urls) ? b.urls.filter((u): u is string => typeof u === 'string') : [])]
    for (const u of urls) {
      let url: URL
      try { url = new URL(u) } catch { continue }
      const scheme = url.protocol.replace(/:$/, '')
      const host = url.hostname.replace(/^\[|\]$/g, '')
      if (!TLS_SCHEMES.has(scheme) && !isLoopback(host)) add('high', 'bridge-plaintext', where, `bridges to ${host} without TLS (${scheme}://): the uplink's payloads and credentials cross the network in clear`, 'use mqtts:// (or wss://) and set tls.ca if the upstream has a private CA')
    }
    const tls = (b.tls ?? {}) as Record<string, unknown>
    if (tls.rejectUnauthorized === false) add('high', 'bridge-tls-unverified', where, 'tls.rejectUnauthorized is false: anyone on the path can impersonate the upstream and read or change what the gateway sends', 'remove rejectUnauthorized: false; give the upstream\'s CA in tls.ca')
  })
}
