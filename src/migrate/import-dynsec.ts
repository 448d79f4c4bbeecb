// Converts a Mosquitto dynamic-security JSON (clients, groups, roles, ACL
// entries, default access) into an edgemq password file and ACL with the same
// effect, and reports what could not be expressed.
//
// The two models:
// - dynsec: per client, roles (its own, then its groups', by priority); in each
//   role the ACL entries by priority; the first entry whose topic matches
//   decides allow or deny; none: defaultACLAccess. Types: publishClientSend
//   (publish), publishClientReceive (delivery), subscribeLiteral/-Pattern,
//   unsubscribeLiteral/-Pattern.
// - edgemq: deny rules first, then any allow; nothing: deny. `write` is publish;
//   `read` is subscribe and delivery together.
// So: publishClientSend -> write; subscribe* allow -> read allow;
// publishClientReceive deny and subscribe* deny -> read deny. Where a
// higher-priority allow would override an overlapping deny, edgemq is stricter
// (deny wins): reported, never silently widened.
//
// Passwords: dynsec keeps PBKDF2-SHA512 (salt, iterations, hash) in base64,
// which is exactly Mosquitto's $7$ password-file hash: the lines carry over and
// the same passwords work without anyone knowing them.
import { filtersOverlap, splitLevels } from '../acl/topic-match.ts'
import type { ImportRow } from './import-mosquitto.ts'

interface DynsecAcl { acltype: string, topic: string, priority?: number, allow: boolean }
interface DynsecRoleRef { rolename: string, priority?: number }
interface DynsecClient { username: string, password?: string, salt?: string, iterations?: number, roles?: DynsecRoleRef[], groups?: Array<{ groupname: string, priority?: number }>, disabled?: boolean, clientid?: string }
interface DynsecGroup { groupname: string, roles?: DynsecRoleRef[], clients?: Array<{ username: string }> }
interface DynsecRole { rolename: string, acls?: DynsecAcl[] }
/** The dynamic-security file, as Mosquitto 2.0 writes it. */
export interface DynsecFile {
  defaultACLAccess?: { publishClientSend?: boolean, publishClientReceive?: boolean, subscribe?: boolean, unsubscribe?: boolean }
  clients?: DynsecClient[]
  groups?: DynsecGroup[]
  roles?: DynsecRole[]
  anonymousGroup?: string
}

/** One edgemq ACL rule, as the YAML format writes it. */
export interface EdgemqAclRule { user?: string, group?: string, anonymous?: true, allow?: 'read' | 'write' | 'readwrite', deny?: 'read' | 'write' | 'readwrite', topic: string }

/** The converted files. */
export interface DynsecImport {
  passwordLines: string[]
  acl: { groups: Record<string, string[]>, rules: EdgemqAclRule[] }
  report: ImportRow[]
}

// Mosquitto's own defaults when the file has no defaultACLAccess.
const DEFAULT_ACCESS = { publishClientSend: false, publishClientReceive: true, subscribe: false, unsubscribe: true }

/** Converts a parsed dynamic-security file; `source` names it in the report. */
export function importDynsec (data: DynsecFile, source: string): DynsecImport {
  const report: ImportRow[] = []
  const note = (directive: string, status: ImportRow['status'], text: string): void => { report.push({ where: source, directive, status, note: text }) }
  const roles = new Map((data.roles ?? []).map((r) => [r.rolename, r]))
  const passwordLines: string[] = []
  const groups: Record<string, string[]> = {}
  const rules: EdgemqAclRule[] = []

  for (const c of data.clients ?? []) {
    if (c.disabled === true) { note(`client ${c.username}`, 'changed', 'disabled: left out of the password file (it cannot log in, as in Mosquitto)'); continue }
    if (c.password === undefined || c.salt === undefined) { note(`client ${c.username}`, 'changed', 'no password: left out of the password file (it cannot log in, as in Mosquitto)'); continue }
    if (/[:\s]/.test(c.username)) { note(`client ${c.username}`, 'unsupported', 'a user name with ":" or a blank cannot be written in a password file: rename it'); continue }
    passwordLines.push(`${c.username}:$7$${c.iterations ?? 101}$${c.salt}$${c.password}`)
    note(`client ${c.username}`, 'mapped', 'password file line ($7$, same password)')
    if (c.clientid !== undefined) note(`client ${c.username} clientid`, 'changed', 'edgemq binds a client id to the first user that uses it (auth.bindClientIds) instead of a fixed id per user')
  }

  // Groups: membership from both sides (a client's groups list and a group's clients list).
  const members = new Map<string, Set<string>>()
  const addMember = (group: string, user: string): void => { if (!members.has(group)) members.set(group, new Set()); members.get(group)!.add(user) }
  for (const g of data.groups ?? []) for (const c of g.clients ?? []) addMember(g.groupname, c.username)
  for (const c of data.clients ?? []) for (const g of c.groups ?? []) addMember(g.groupname, c.username)
  for (const g of data.groups ?? []) if (g.groupname !== data.anonymousGroup) groups[g.groupname] = [...(members.get(g.groupname) ?? [])].sort()

  type Subject = Pick<EdgemqAclRule, 'user' | 'group' | 'anonymous'>
  const subjects: Array<{ subject: Subject, label: string, refs: DynsecRoleRef[] }> = []
  for (const c of data.clients ?? []) if ((c.roles ?? []).length > 0) subjects.push({ subject: { user: c.username }, label: `client ${c.username}`, refs: c.roles ?? [] })
  for (const g of data.groups ?? []) {
    if ((g.roles ?? []).length === 0) continue
    const subject: Subject = g.groupname === data.anonymousGroup ? { anonymous: true } : { group: g.groupname }
    subjects.push({ subject, label: g.groupname === data.anonymousGroup ? `anonymous group ${g.groupname}` : `group ${g.groupname}`, refs: g.roles ?? [] })
  }

  for (const { subject, label, refs } of subjects) {
    const entries: DynsecAcl[] = []
    for (const ref of refs) {
      const role = roles.get(ref.rolename)
      if (role === undefined) { note(`${label} role ${ref.rolename}`, 'unsupported', 'names a role the file does not define: left out'); continue }
      entries.push(...(role.acls ?? []))
    }
    for (const e of entries) {
      const topic = e.topic
      if (topic.startsWith('$CONTROL/')) { note(`${label} ${e.acltype} ${topic}`, 'unsupported', 'edgemq has no $CONTROL API: manage users with edgemq passwd and the ACL file'); continue }
      // Mosquitto 2.0 matched %u/%c in dynsec topics literally; 2.1 substitutes them, as edgemq does.
      if (/(^|\/)%[uc](\/|$)/.test(topic)) note(`${label} ${e.acltype} ${topic}`, 'changed', 'edgemq fills %u/%c with the user name / client id, as Mosquitto 2.1 does; Mosquitto 2.0 matched them literally')
      switch (e.acltype) {
        case 'publishClientSend':
          rules.push({ ...subject, [e.allow ? 'allow' : 'deny']: 'write', topic })
          break
        case 'subscribeLiteral': case 'subscribePattern': case 'subscribe':
          rules.push({ ...subject, [e.allow ? 'allow' : 'deny']: 'read', topic })
          if (!e.allow) note(`${label} ${e.acltype} ${topic}`, 'changed', 'deny read in edgemq: the topic is also not delivered through a wider subscription (stricter than a refused SUBSCRIBE)')
          if (e.acltype === 'subscribeLiteral' && /[+#]/.test(topic)) note(`${label} subscribeLiteral ${topic}`, 'changed', 'edgemq matches the filter as a pattern: it also grants the narrower filters it covers')
          break
        case 'publishClientReceive':
          if (!e.allow) rules.push({ ...subject, deny: 'read', topic })
          else if (!(data.defaultACLAccess?.publishClientReceive ?? DEFAULT_ACCESS.publishClientReceive)) note(`${label} publishClientReceive ${topic}`, 'changed', 'delivery is allowed where the subscription is: edgemq does not keep receive separate from subscribe')
          break
        case 'unsubscribeLiteral': case 'unsubscribePattern': case 'unsubscribe':
          if (!e.allow) note(`${label} ${e.acltype} ${topic}`, 'unsupported', 'edgemq always lets a client unsubscribe (refusing it only keeps messages flowing)')
          break
        default:
          note(`${label} ${e.acltype}`, 'unsupported', 'unknown ACL type: left out')
      }
    }
    // Priorities: deny wins in edgemq; a higher-priority allow over an overlapping deny is the one case that differs.
    for (const a of entries.filter((x) => x.allow)) {
      for (const d of entries.filter((x) => !x.allow)) {
        if (kindOf(a.acltype) !== kindOf(d.acltype)) continue
        if ((a.priority ?? 0) > (d.priority ?? 0) && filtersOverlap(splitLevels(a.topic), splitLevels(d.topic))) {
          note(`${label} ${a.acltype} ${a.topic}`, 'changed', `allowed above the deny on ${d.topic} by priority in Mosquitto; edgemq checks deny first, so topics matching both are denied (stricter)`)
        }
      }
    }
  }

  const access = { ...DEFAULT_ACCESS, ...data.defaultACLAccess }
  if (access.publishClientSend) { rules.push({ allow: 'write', topic: '#' }); note('defaultACLAccess publishClientSend', 'mapped', 'allow write # for everyone (after the deny rules)') }
  if (access.subscribe) { rules.push({ allow: 'read', topic: '#' }); note('defaultACLAccess subscribe', 'mapped', 'allow read # for everyone (after the deny rules)') }
  if (!access.publishClientReceive) note('defaultACLAccess publishClientReceive', 'changed', 'delivery follows the subscription grant in edgemq; deny reads explicitly where needed')
  if (!access.unsubscribe) note('defaultACLAccess unsubscribe', 'unsupported', 'edgemq always lets a client unsubscribe')
  return { passwordLines, acl: { groups, rules }, report }
}

function kindOf (acltype: string): 'write' | 'read' | 'other' {
  if (acltype === 'publishClientSend') return 'write'
  if (acltype.startsWith('subscribe') || acltype === 'publishClientReceive') return 'read'
  return 'other'
}
