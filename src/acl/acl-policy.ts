// The authorization map: users in groups, rules that allow or deny read and
// write on topic filters to a user, a group, anonymous clients or everyone.
// Deny rules are checked first; then any matching allow grants; anything not
// listed is denied (default deny once an ACL exists, Mosquitto's semantics,
// and an empty ACL denies everything: CVE-2018-12550 was the opposite).
// Nobody writes $SYS, whatever the rules say (aedes #622).
import { filterCovers, filterMatches, filtersOverlap, splitLevels, stripShare } from './topic-match.ts'

/** Who a rule applies to. */
export type AclSubject =
  | { kind: 'all' }
  | { kind: 'anonymous' }
  | { kind: 'user', name: string }
  | { kind: 'group', name: string }

/** One rule, as read from a file. */
export interface AclRule {
  subject: AclSubject
  effect: 'allow' | 'deny'
  read: boolean
  write: boolean
  /** Topic filter; a level that is exactly %u or %c is replaced by the user name or client id. */
  topic: string
  /** file:line, for audit findings and reload errors. */
  where: string
}

/** A whole ACL: group membership and rules. */
export interface AclPolicy {
  source: string
  /** user → groups */
  groups: ReadonlyMap<string, readonly string[]>
  rules: readonly AclRule[]
}

/** What the checks need to know about a client. */
export interface AclClient {
  id: string
  username?: string
  groups: readonly string[]
}

/** Rules of one client with %u/%c filled in and filters split, ready for per-message checks. */
export interface CompiledAcl {
  denyRead: string[][]
  allowRead: string[][]
  denyWrite: string[][]
  allowWrite: string[][]
}

/** The groups a user belongs to. */
export function groupsOf (policy: AclPolicy | undefined, username: string | undefined): readonly string[] {
  if (policy === undefined || username === undefined) return []
  return policy.groups.get(username) ?? []
}

function applies (subject: AclSubject, client: AclClient): boolean {
  switch (subject.kind) {
    case 'all': return true
    case 'anonymous': return client.username === undefined
    case 'user': return client.username === subject.name
    case 'group': return client.username !== undefined && client.groups.includes(subject.name)
  }
}

/** Fills %u/%c over whole levels; undefined when the rule cannot apply (no user name, or a value that is not one level). */
function substitute (topic: string, client: AclClient): string[] | undefined {
  const levels = splitLevels(topic)
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]
    if (level !== '%u' && level !== '%c') continue
    const value = level === '%u' ? client.username : client.id
    // A value with a wildcard or "/" would widen the rule (CVE-2017-7650); such names are refused at CONNECT too.
    if (value === undefined || value === '' || /[+#/]/.test(value)) return undefined
    levels[i] = value
  }
  return levels
}

/** Compiles the rules that apply to one client. */
export function compileAcl (policy: AclPolicy, client: AclClient): CompiledAcl {
  const out: CompiledAcl = { denyRead: [], allowRead: [], denyWrite: [], allowWrite: [] }
  for (const rule of policy.rules) {
    if (!applies(rule.subject, client)) continue
    const levels = substitute(rule.topic, client)
    if (levels === undefined) continue
    if (rule.effect === 'deny') {
      if (rule.read) out.denyRead.push(levels)
      if (rule.write) out.denyWrite.push(levels)
    } else {
      if (rule.read) out.allowRead.push(levels)
      if (rule.write) out.allowWrite.push(levels)
    }
  }
  return out
}

/** Whether a topic starts with the $SYS level. */
export function isSysTopic (topic: string): boolean {
  return topic === '$SYS' || topic.startsWith('$SYS/')
}

/** May the client publish to `topic`? (`acl` undefined = no ACL configured.) */
export function canWrite (acl: CompiledAcl | undefined, topic: string): boolean {
  if (isSysTopic(topic)) return false // the broker alone writes $SYS
  if (acl === undefined) return true
  const levels = splitLevels(topic)
  if (acl.denyWrite.some((f) => filterMatches(f, levels))) return false
  return acl.allowWrite.some((f) => filterMatches(f, levels))
}

/** May the client receive a message on `topic`? Checked on every delivery. */
export function canRead (acl: CompiledAcl | undefined, topic: string): boolean {
  if (acl === undefined) return true
  const levels = splitLevels(topic)
  if (acl.denyRead.some((f) => filterMatches(f, levels))) return false
  return acl.allowRead.some((f) => filterMatches(f, levels))
}

/**
 * May the client subscribe to `filter`? Granted when some readable topic can
 * match it and no deny rule swallows it whole; delivery then drops each
 * message the client may not read, so `#` only ever carries permitted topics.
 */
export function canSubscribe (acl: CompiledAcl | undefined, filter: string): boolean {
  if (acl === undefined) return true
  const levels = splitLevels(stripShare(filter))
  if (acl.denyRead.some((f) => filterCovers(f, levels))) return false
  return acl.allowRead.some((f) => filtersOverlap(f, levels))
}
