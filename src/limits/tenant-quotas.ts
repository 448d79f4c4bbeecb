// Quotas per user and per ACL group, beside the per-client ones (issue 14):
// per-client caps let one user with several client ids spend everyone's
// budget. Measured before: with limits.maxRetainedMessages 2500, one user
// with three client ids stored all 2,500 retained messages and the next
// user's retained PUBLISH was refused.
//
// A "tenant" is a user (every authenticated user gets the per-user caps) or
// an ACL group listed under limits.groupQuotas (its members share one
// budget). Counted per tenant:
//  - retained messages and their payload bytes, by the tenants of the client
//    whose retained message holds the topic now (an empty retained payload,
//    or another client's retained message on the topic, frees them);
//  - subscriptions: the topic filters held by the tenant's connected clients;
//  - offline-queue messages and bytes: what the store holds for all the
//    tenant's persistent sessions, connected or not. The store keeps these
//    figures exact (src/persistence/queue-bounds.ts, QueueShare); this class
//    owns the budget objects and their caps. A session's owner is its
//    client-id binding (hooks.sessionOwner), so an offline session counts too.
// Anonymous clients have no tenant: only the per-client and global caps apply.
// Retained messages loaded from the store at start have no known owner and
// count only toward the global caps.
import type { OptionSpec } from '../config/option-spec.ts'
import { parseSize } from '../config/units.ts'
import type { EdgemqConfig } from '../config/types.ts'
import type { QueueBudget } from '../store-contract.ts'

/** The caps one tenant may have; 0 = no cap. */
export interface TenantCaps {
  maxRetainedMessages: number
  maxRetainedBytes: number
  maxSubscriptions: number
  maxQueuedMessages: number
  maxQueuedBytes: number
}

/** Per-user caps and the caps of the groups that have one. */
export interface TenantSettings {
  user: TenantCaps
  groups: ReadonlyMap<string, TenantCaps>
}

const GROUP_KEYS = ['maxRetainedMessages', 'maxRetainedBytes', 'maxSubscriptions', 'maxQueuedMessages', 'maxQueuedBytes'] as const

/** Checks limits.groupQuotas: { <group>: { maxRetainedMessages?, maxRetainedBytes?, maxSubscriptions? } } with counts >= 0. */
function checkGroupQuotas (value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'must map an ACL group to its caps, e.g. { sensors: { maxRetainedMessages: 5000, maxSubscriptions: 2000 } }'
  for (const [group, caps] of Object.entries(value)) {
    if (typeof caps !== 'object' || caps === null || Array.isArray(caps)) return `group ${group} must be a mapping of caps (${GROUP_KEYS.join(', ')})`
    for (const [k, v] of Object.entries(caps)) {
      if (!(GROUP_KEYS as readonly string[]).includes(k)) return `group ${group}: unknown cap ${JSON.stringify(k)} (use ${GROUP_KEYS.join(', ')})`
      if (k === 'maxQueuedBytes' && typeof v === 'string') {
        if (parseSize(v) === undefined) return `group ${group}: maxQueuedBytes must be a size such as 64MB or a number of bytes: got ${JSON.stringify(v)}`
        continue
      }
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) return `group ${group}: ${k} must be a whole number >= 0 (0 = no cap): got ${JSON.stringify(v)}`
    }
  }
  return undefined
}

/** limits.* rows of the per-user and per-group quotas. */
export const TENANT_QUOTA_OPTIONS: readonly OptionSpec[] = [
  {
    key: 'limits.maxRetainedMessagesPerUser', type: 'int', unit: 'messages', min: 0, reload: 'live', board: true,
    doc: 'Most retained topics whose last retained message came from one user, over all its client ids (0 = no cap); beyond, 0x97',
    reason: 'unset: a quarter of limits.maxRetainedMessages, so one user with several client ids cannot take the whole retained budget (issue 14)'
  },
  {
    key: 'limits.maxRetainedBytesPerUser', type: 'size', unit: 'bytes', min: 0, reload: 'live', board: true,
    doc: 'Most retained payload bytes from one user, over all its client ids (0 = no cap)',
    reason: 'unset: a quarter of limits.maxRetainedBytes, for the same reason'
  },
  {
    key: 'limits.maxSubscriptionsPerUser', type: 'int', unit: 'filters', min: 0, reload: 'live', board: true,
    doc: 'Most topic filters held by one user\'s connected clients together; the excess gets SUBACK 0x80 (3.1.1) / 0x97 (0 = no cap)',
    reason: 'unset: 4 x limits.maxSubscriptionsPerClient: a user with many client ids must not fill the subscription trie for everyone'
  },
  {
    key: 'limits.maxQueuedMessagesPerUser', type: 'int', unit: 'messages', default: 0, min: 0, reload: 'live', board: true,
    doc: 'Most messages queued in the store for all persistent sessions of one user (its client ids, connected or not) together; beyond, limits.queueFullPolicy applies (0 = no cap)',
    reason: '0: like limits.maxQueuedMessages, queues are bounded by bytes; set it (or the bytes cap) when users with several client ids share one gateway (issue 14)'
  },
  {
    key: 'limits.maxQueuedBytesPerUser', type: 'size', unit: 'bytes', default: 0, min: 0, reload: 'live', board: true,
    doc: 'Most stored bytes queued for all persistent sessions of one user together; beyond, limits.queueFullPolicy applies (0 = no cap)',
    reason: '0: each client id is already bounded by persistence.maxQueuedBytes (a share of the disk); a per-user default would have to guess how many users share the gateway. Set it to keep one user with many client ids from filling the disk for the others'
  },
  {
    key: 'limits.groupQuotas', type: 'object', default: {}, reload: 'live', check: checkGroupQuotas,
    doc: 'Caps shared by all members of an ACL group: { <group>: { maxRetainedMessages, maxRetainedBytes, maxSubscriptions, maxQueuedMessages, maxQueuedBytes } } (0 = no cap)',
    reason: 'empty: groups share nothing; set it when one tenant (a group of users) must not spend another\'s budget'
  }
]

const NO_CAPS: TenantCaps = { maxRetainedMessages: 0, maxRetainedBytes: 0, maxSubscriptions: 0, maxQueuedMessages: 0, maxQueuedBytes: 0 }

/** The tenant settings of a config. */
export function readTenantSettings (config: EdgemqConfig): TenantSettings {
  const l = config.limits as unknown as Record<string, unknown>
  const num = (v: unknown, fallback: number): number => typeof v === 'number' ? v : fallback
  // the loaded config has each option's table default (src/limits/limits-options.ts)
  const retainedMessages = config.limits.maxRetainedMessages
  const retainedBytes = config.limits.maxRetainedBytes
  const perClientSubs = config.limits.maxSubscriptionsPerClient
  const groups = new Map<string, TenantCaps>()
  for (const [name, raw] of Object.entries((l.groupQuotas ?? {}) as Record<string, Partial<Record<keyof TenantCaps, number | string>>>)) {
    const n = (v: number | string | undefined): number => typeof v === 'number' ? v : typeof v === 'string' ? parseSize(v) ?? 0 : 0
    groups.set(name, { maxRetainedMessages: n(raw.maxRetainedMessages), maxRetainedBytes: n(raw.maxRetainedBytes), maxSubscriptions: n(raw.maxSubscriptions), maxQueuedMessages: n(raw.maxQueuedMessages), maxQueuedBytes: n(raw.maxQueuedBytes) })
  }
  return {
    user: {
      maxRetainedMessages: num(l.maxRetainedMessagesPerUser, Math.floor(retainedMessages / 4)),
      maxRetainedBytes: num(l.maxRetainedBytesPerUser, Math.floor(retainedBytes / 4)),
      maxSubscriptions: num(l.maxSubscriptionsPerUser, perClientSubs * 4),
      maxQueuedMessages: config.limits.maxQueuedMessagesPerUser,
      maxQueuedBytes: config.limits.maxQueuedBytesPerUser
    },
    groups
  }
}

/** Who a client spends for: its user and those of its groups that have caps. */
export interface TenantClient {
  username?: string
  groups: readonly string[]
}

interface Usage { retained: number, retainedBytes: number, subscriptions: number }

/** Usage per tenant; the owners of each retained topic. */
export class TenantQuotas {
  readonly #usage = new Map<string, Usage>()
  readonly #retained = new Map<string, { bytes: number, tenants: readonly string[] }>()
  // Offline-queue budgets per tenant; the store keeps their figures exact.
  // Never removed: one small object per user or group that ever had a queue.
  readonly #queues = new Map<string, QueueBudget>()

  constructor (private settings: TenantSettings) {}

  /** New caps (reload); usage stays. */
  update (settings: TenantSettings): void {
    this.settings = settings
    for (const [tenant, budget] of this.#queues) {
      // a tenant whose caps were removed keeps its budget object, uncapped (0)
      const caps = this.capsOf(tenant) ?? NO_CAPS
      budget.maxMessages = caps.maxQueuedMessages
      budget.maxBytes = caps.maxQueuedBytes
    }
  }

  /**
   * The offline-queue budgets of a session's tenants that have a queue cap
   * (one with none costs nothing per message). The store asks when it loads
   * a client's queue figures, and again at every reload (reshare).
   */
  queueBudgetsOf (owner: TenantClient | undefined): QueueBudget[] {
    if (owner === undefined) return []
    const out: QueueBudget[] = []
    for (const tenant of this.tenantsOf(owner)) {
      const caps = this.capsOf(tenant)
      if (caps === undefined || (caps.maxQueuedMessages <= 0 && caps.maxQueuedBytes <= 0)) continue
      let budget = this.#queues.get(tenant)
      if (budget === undefined) {
        budget = { name: this.describe(tenant), messages: 0, bytes: 0, maxMessages: caps.maxQueuedMessages, maxBytes: caps.maxQueuedBytes }
        this.#queues.set(tenant, budget)
      }
      out.push(budget)
    }
    return out
  }

  /** What a tenant has queued now (tests, `edgemq ctl limits.get`). */
  queued (tenant: string): { messages: number, bytes: number } {
    const b = this.#queues.get(tenant)
    return { messages: b?.messages ?? 0, bytes: b?.bytes ?? 0 }
  }

  /** Tenant keys of a client: "user:<name>" and "group:<name>" for capped groups. */
  tenantsOf (client: TenantClient): string[] {
    if (client.username === undefined) return []
    const out = [`user:${client.username}`]
    for (const g of client.groups) if (this.settings.groups.has(g)) out.push(`group:${g}`)
    return out
  }

  /** What a tenant uses now (for tests and `edgemq ctl limits.get`). */
  usage (tenant: string): Usage {
    return this.#usage.get(tenant) ?? { retained: 0, retainedBytes: 0, subscriptions: 0 }
  }

  private capsOf (tenant: string): TenantCaps | undefined {
    return tenant.startsWith('user:') ? this.settings.user : this.settings.groups.get(tenant.slice('group:'.length))
  }

  private describe (tenant: string): string {
    return tenant.startsWith('user:') ? `user ${tenant.slice(5)}` : `group ${tenant.slice(6)}`
  }

  private limitName (tenant: string, key: keyof TenantCaps): string {
    if (tenant.startsWith('group:')) return `limits.groupQuotas.${tenant.slice(6)}.${key}`
    return { maxRetainedMessages: 'limits.maxRetainedMessagesPerUser', maxRetainedBytes: 'limits.maxRetainedBytesPerUser', maxSubscriptions: 'limits.maxSubscriptionsPerUser', maxQueuedMessages: 'limits.maxQueuedMessagesPerUser', maxQueuedBytes: 'limits.maxQueuedBytesPerUser' }[key]
  }

  /** Why a retained message of `bytes` on `topic` must be refused for its tenants, or undefined. Deleting always fits. */
  checkRetained (topic: string, bytes: number, client: TenantClient): string | undefined {
    if (bytes === 0) return undefined
    const old = this.#retained.get(topic)
    for (const tenant of this.tenantsOf(client)) {
      const caps = this.capsOf(tenant)
      if (caps === undefined) continue
      const use = this.usage(tenant)
      const owns = old?.tenants.includes(tenant) === true
      if (!owns && caps.maxRetainedMessages > 0 && use.retained >= caps.maxRetainedMessages) {
        return `${this.describe(tenant)} holds ${this.limitName(tenant, 'maxRetainedMessages')} (${caps.maxRetainedMessages}) retained messages`
      }
      const growth = bytes - (owns ? old.bytes : 0)
      if (growth > 0 && caps.maxRetainedBytes > 0 && use.retainedBytes + growth > caps.maxRetainedBytes) {
        return `${this.describe(tenant)}'s retained bytes would pass ${this.limitName(tenant, 'maxRetainedBytes')} (${caps.maxRetainedBytes})`
      }
    }
    return undefined
  }

  /** Records an accepted retained message (0 bytes deletes the topic and frees its owners). */
  applyRetained (topic: string, bytes: number, client: TenantClient | undefined): void {
    const old = this.#retained.get(topic)
    if (old !== undefined) {
      for (const t of old.tenants) this.change(t, { retained: -1, retainedBytes: -old.bytes })
      this.#retained.delete(topic)
    }
    if (bytes === 0) return
    const tenants = client === undefined ? [] : this.tenantsOf(client)
    this.#retained.set(topic, { bytes, tenants })
    for (const t of tenants) this.change(t, { retained: 1, retainedBytes: bytes })
  }

  /** Why one more subscription of this client must be refused, or undefined. */
  checkSubscription (client: TenantClient): string | undefined {
    for (const tenant of this.tenantsOf(client)) {
      const caps = this.capsOf(tenant)
      if (caps !== undefined && caps.maxSubscriptions > 0 && this.usage(tenant).subscriptions >= caps.maxSubscriptions) {
        return `${this.describe(tenant)} holds ${this.limitName(tenant, 'maxSubscriptions')} (${caps.maxSubscriptions}) filters`
      }
    }
    return undefined
  }

  /**
   * Counts `n` subscriptions more (or fewer, n < 0) for the given tenants.
   * The caller keeps the tenant list it counted with, so a later group change
   * cannot make the release miss.
   */
  countSubscriptions (tenants: readonly string[], n: number): void {
    for (const t of tenants) this.change(t, { subscriptions: n })
  }

  private change (tenant: string, delta: Partial<Usage>): void {
    const u = { ...this.usage(tenant) }
    u.retained += delta.retained ?? 0
    u.retainedBytes += delta.retainedBytes ?? 0
    u.subscriptions += delta.subscriptions ?? 0
    if (u.retained <= 0 && u.retainedBytes <= 0 && u.subscriptions <= 0) this.#usage.delete(tenant)
    else this.#usage.set(tenant, u)
  }
}
