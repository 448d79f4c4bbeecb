// Which live sessions a reload revokes (issue 14): a user deleted from the
// password file, a password changed, a client certificate named by the new
// CRL. TLS and the password check run once, at CONNECT; without this a
// revoked credential kept its session for as long as the device stayed
// connected. Plain code over the security state and the CRLs; the security
// part closes (or keeps, by auth.closeRevokedSessions) what this returns.
import { readFile } from 'node:fs/promises'
import type { ClientInfo } from '../broker-hooks.ts'
import type { ListenerConfig } from '../config/types.ts'
import type { Credential, SecurityState } from './authenticator.ts'
import { revokedKeysOf } from './revocation-list.ts'

/** A live session whose credential no longer holds. */
export interface RevokedSession {
  client: ClientInfo
  credential: Credential
  /** user-deleted | password-changed | certificate-revoked */
  why: 'user-deleted' | 'password-changed' | 'certificate-revoked'
}

/** Revoked issuer:serial keys per listener name, from each TLS listener's `crl` file; unreadable ones are reported, not thrown. */
export async function readListenerCrls (listeners: readonly ListenerConfig[], onError: (listener: string, path: string, err: Error) => void): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>()
  for (const l of listeners) {
    const path = typeof l.crl === 'string' ? l.crl : undefined
    if (path === undefined) continue
    try {
      out.set(l.name, revokedKeysOf(await readFile(path)))
    } catch (err) {
      onError(l.name, path, err as Error)
    }
  }
  return out
}

/** The sessions among `live` whose credential `next` (and the CRLs) no longer accept. */
export function findRevokedSessions (live: Iterable<[ClientInfo, Credential]>, next: SecurityState, crls: ReadonlyMap<string, ReadonlySet<string>>): RevokedSession[] {
  const out: RevokedSession[] = []
  for (const [client, credential] of live) {
    const revokedCerts = crls.get(client.listener)
    if (credential.certificate !== undefined && revokedCerts?.has(credential.certificate) === true) {
      out.push({ client, credential, why: 'certificate-revoked' })
      continue
    }
    if (credential.passwordHash === undefined || credential.user === undefined) continue
    const entry = next.passwords?.users.get(credential.user)
    if (entry === undefined) out.push({ client, credential, why: 'user-deleted' })
    else if (entry.text !== credential.passwordHash) out.push({ client, credential, why: 'password-changed' })
  }
  return out
}
