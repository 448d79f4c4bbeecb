// The security part's figures in the metrics registry and the bans section:
// authentication failures, bans imposed and active, ACL refusals. Read at
// scrape time from plain counters the part bumps on refusals only.
import type { Observatory } from '../observability/observatory.ts'
import type { Lockout } from './lockout.ts'

/** Counters the security part keeps. */
export interface SecurityCounters {
  authFailures: number
  lockouts: number
  aclPublishDenied: number
  aclSubscribeDenied: number
}

/** Registers the readers and the bans section. */
export function registerSecurityMetrics (observe: Observatory, src: { counters: SecurityCounters, lockout: Lockout, now: () => number }): void {
  const m = observe.metrics
  const c = src.counters
  m.read('edgemq_auth_failures_total', (emit) => { emit(c.authFailures) })
  m.read('edgemq_lockouts_total', (emit) => { emit(c.lockouts) })
  m.read('edgemq_bans_active', (emit) => { emit(src.lockout.list().length) })
  m.read('edgemq_messages_dropped_total', (emit) => { emit(c.aclPublishDenied, { reason: 'acl' }) })
  m.read('edgemq_subscriptions_refused_total', (emit) => { emit(c.aclSubscribeDenied, { reason: 'acl' }) })
  observe.addStatus('bans', () => {
    const now = src.now()
    return src.lockout.list().slice(0, 500).map((b) => ({
      ip: b.ip,
      reason: `${b.failures} failed logins (offence ${b.offences})`,
      since: new Date(b.since).toISOString(),
      until: new Date(b.until).toISOString(),
      secondsLeft: Math.max(0, Math.round((b.until - now) / 1000))
    }))
  })
}
