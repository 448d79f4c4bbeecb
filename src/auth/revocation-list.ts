// Which certificates a CRL revokes, for the live sessions a reload must close
// (issue 14). TLS checks the CRL only in the handshake, so a session that was
// verified before the revocation keeps going unless edgemq looks for itself;
// Node has no CRL parser, so this reads the few DER fields it needs: the
// issuer Name and the revoked serial numbers [RFC 5280 §5.1], and the
// issuer and serial of a certificate [RFC 5280 §4.1]. A certificate is named
// by "sha256(issuer Name DER):serial hex", since serials are unique per issuer
// only [RFC 5280 §4.1.2.2] and a CRL names its issuer byte for byte as the
// certificates it covers [RFC 5280 §5.1.2.3].
import { createHash } from 'node:crypto'

interface Tlv { tag: number, start: number, body: number, end: number }

/** Reads the DER element at `at` (single-byte tags, definite lengths: all RFC 5280 needs). */
function readTlv (der: Buffer, at: number): Tlv {
  if (at + 2 > der.length) throw new Error('truncated DER')
  const tag = der[at]
  let len = der[at + 1]
  let body = at + 2
  if (len & 0x80) {
    const n = len & 0x7f
    if (n === 0 || n > 4 || body + n > der.length) throw new Error('bad DER length')
    len = 0
    for (let i = 0; i < n; i++) len = len * 256 + der[body + i]
    body += n
  }
  const end = body + len
  if (end > der.length) throw new Error('truncated DER')
  return { tag, start: at, body, end }
}

/** The children of a constructed element. */
function childrenOf (der: Buffer, parent: Tlv): Tlv[] {
  const out: Tlv[] = []
  for (let at = parent.body; at < parent.end;) {
    const t = readTlv(der, at)
    out.push(t)
    at = t.end
  }
  return out
}

const SEQUENCE = 0x30
const INTEGER = 0x02

function serialHex (der: Buffer, t: Tlv): string {
  if (t.tag !== INTEGER) throw new Error('serial is not an INTEGER')
  return der.subarray(t.body, t.end).toString('hex').replace(/^(00)+(?=.)/, '').toUpperCase()
}

function issuerHash (der: Buffer, t: Tlv): string {
  if (t.tag !== SEQUENCE) throw new Error('issuer is not a Name')
  return createHash('sha256').update(der.subarray(t.start, t.end)).digest('hex')
}

/** "issuer:serial" of a DER certificate (what `revokedKeysOf` returns for it when revoked). */
export function revocationKeyOf (certDer: Buffer): string {
  const cert = readTlv(certDer, 0)
  const tbs = childrenOf(certDer, cert)[0]
  const fields = childrenOf(certDer, tbs)
  // [0] EXPLICIT version is optional (absent = v1).
  const i = fields[0]?.tag === 0xa0 ? 1 : 0
  return `${issuerHash(certDer, fields[i + 2])}:${serialHex(certDer, fields[i])}`
}

/** DER blocks of every "-----BEGIN <label>-----" in PEM text, or the buffer itself when it is DER. */
function derBlocks (data: Buffer, label: string): Buffer[] {
  if (data[0] === SEQUENCE) return [data]
  const text = data.toString('latin1')
  const re = new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`, 'g')
  return [...text.matchAll(re)].map((m) => Buffer.from(m[1].replace(/\s+/g, ''), 'base64'))
}

/** "issuer:serial" of every certificate the CRLs in `data` (PEM, possibly several, or one DER) revoke. */
export function revokedKeysOf (data: Buffer): Set<string> {
  const out = new Set<string>()
  for (const der of derBlocks(data, 'X509 CRL')) {
    const list = readTlv(der, 0)
    const tbs = childrenOf(der, list)[0]
    const fields = childrenOf(der, tbs)
    // version INTEGER is optional (present = v2).
    let i = fields[0]?.tag === INTEGER ? 1 : 0
    const issuer = issuerHash(der, fields[i + 1])
    i += 3 // signature, issuer, thisUpdate
    if (fields[i] !== undefined && (fields[i].tag === 0x17 || fields[i].tag === 0x18)) i++ // nextUpdate
    const revoked = fields[i]
    if (revoked === undefined || revoked.tag !== SEQUENCE) continue // no revokedCertificates
    for (const entry of childrenOf(der, revoked)) {
      const serial = childrenOf(der, entry)[0]
      out.add(`${issuer}:${serialHex(der, serial)}`)
    }
  }
  return out
}
