// Shared subscriptions ($share/<group>/<filter>) [MQTT-4.8.2], kept by edgemq
// because aedes 2.0.0-beta.1 refuses them (0x9E). One group per (group, filter)
// pair; each message matching the filter goes to ONE member, in turn.

/** The parts of a `$share/<group>/<filter>` topic filter. */
export interface SharedFilter {
  group: string
  filter: string
}

const PREFIX = '$share/'

/** Whether a SUBSCRIBE/UNSUBSCRIBE topic filter is a shared one. */
export function isSharedFilter (topic: string): boolean {
  return topic.startsWith(PREFIX)
}

/**
 * Splits `$share/<group>/<filter>`; returns a problem string when malformed:
 * [MQTT-4.8.2-1] the ShareName is at least one character and has no '/', '+' or '#';
 * [MQTT-4.8.2-2] it is followed by '/' and a topic filter.
 */
export function parseSharedFilter (topic: string): SharedFilter | string {
  if (!isSharedFilter(topic)) return 'not a shared subscription'
  const rest = topic.slice(PREFIX.length)
  const slash = rest.indexOf('/')
  if (slash <= 0) return 'a shared subscription needs $share/<group>/<filter> with a non-empty group'
  const group = rest.slice(0, slash)
  if (group.includes('+') || group.includes('#')) return 'a share group name must not contain + or #'
  const filter = rest.slice(slash + 1)
  if (filter.length === 0) return 'a shared subscription needs a topic filter after the group'
  return { group, filter }
}

/** One subscriber of a share group. */
export interface ShareMember<C> {
  client: C
  qos: 0 | 1 | 2
  /** retain-as-published [MQTT-3.3.1-12]. */
  rap: boolean
  /** Subscription identifier to echo on delivery [MQTT-3.3.4-3]. */
  subscriptionIdentifier?: number
}

interface Group<C> {
  filter: string
  members: Array<ShareMember<C>>
  next: number
}

/** The share groups of one broker: membership and round-robin choice. Pure: no I/O. */
export class SharedSubscriptions<C> {
  private readonly groups = new Map<string, Group<C>>()

  /** Adds or replaces a member; returns true when the group is new (the caller subscribes to the filter once). */
  add (shared: SharedFilter, member: ShareMember<C>): boolean {
    const key = groupKey(shared)
    let group = this.groups.get(key)
    const created = group === undefined
    if (group === undefined) {
      group = { filter: shared.filter, members: [], next: 0 }
      this.groups.set(key, group)
    }
    const i = group.members.findIndex((m) => m.client === member.client)
    if (i >= 0) group.members[i] = member
    else group.members.push(member)
    return created
  }

  /** Removes a member; returns 'group-empty' when the group is gone (the caller unsubscribes), 'removed' or 'absent'. */
  remove (shared: SharedFilter, client: C): 'group-empty' | 'removed' | 'absent' {
    const key = groupKey(shared)
    const group = this.groups.get(key)
    if (group === undefined) return 'absent'
    const i = group.members.findIndex((m) => m.client === client)
    if (i < 0) return 'absent'
    group.members.splice(i, 1)
    if (group.next > i) group.next--
    if (group.members.length === 0) { this.groups.delete(key); return 'group-empty' }
    return 'removed'
  }

  /** Every (group, filter) the client is a member of. */
  membershipsOf (client: C): SharedFilter[] {
    const out: SharedFilter[] = []
    for (const [key, group] of this.groups) {
      if (group.members.some((m) => m.client === client)) out.push({ group: key.slice(0, key.indexOf('\u0000')), filter: group.filter })
    }
    return out
  }

  /** The next member in turn that `usable` accepts, or undefined when none does. */
  pick (shared: SharedFilter, usable: (member: ShareMember<C>) => boolean = () => true): ShareMember<C> | undefined {
    const group = this.groups.get(groupKey(shared))
    if (group === undefined) return undefined
    const n = group.members.length
    for (let k = 0; k < n; k++) {
      const i = (group.next + k) % n
      const member = group.members[i]
      if (usable(member)) { group.next = (i + 1) % n; return member }
    }
    return undefined
  }

  /** Number of groups (for stats). */
  get size (): number { return this.groups.size }
}

function groupKey (shared: SharedFilter): string {
  return `${shared.group}\u0000${shared.filter}`
}
