// edgemq's own ACL format (a YAML file, or the `acl:` section of the config):
//   groups: { sensors: [alice, bob], ops: [carol] }
//   rules:
//     - { group: sensors, allow: readwrite, topic: "sensors/%u/#" }
//     - { group: ops, allow: read, topic: "$SYS/#" }
//     - { user: bob, deny: write, topic: "sensors/bob/cmd" }
//     - { anonymous: true, allow: read, topic: "public/#" }
//     - { allow: read, topic: "time" }            # no user/group: everyone
import { LineCounter, parseDocument, isMap, isSeq, isScalar, type Node } from 'yaml'
import { EdgemqError, ERROR_CODES } from '../errors.ts'
import type { AclPolicy, AclRule, AclSubject } from './acl-policy.ts'

const ACCESS = ['read', 'write', 'readwrite'] as const
const RULE_KEYS = new Set(['user', 'group', 'anonymous', 'allow', 'deny', 'topic'])

/** Problem with a topic filter in a rule ("must ..."), or undefined when valid [MQTT-4.7.1]. */
export function checkFilter (filter: string): string | undefined {
  if (filter === '') return 'is empty'
  const levels = filter.split('/')
  for (let i = 0; i < levels.length; i++) {
    const l = levels[i]
    if (l.includes('#') && (l !== '#' || i !== levels.length - 1)) return 'has # that is not a whole last level [MQTT-4.7.1-2]'
    if (l.includes('+') && l !== '+') return 'has + that is not a whole level [MQTT-4.7.1-3]'
    if ((l.includes('%u') || l.includes('%c')) && l !== '%u' && l !== '%c') return 'has %u or %c that is not a whole level (write a/%u/b, not a/x%u)'
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f]/.test(filter)) return 'has a control character'
  return undefined
}

/** Builds a policy from parsed data; `at(path)` names file:line for errors. */
export function policyFromData (data: unknown, source: string, at: (path: ReadonlyArray<string | number>) => string = () => source): AclPolicy {
  const fail = (path: ReadonlyArray<string | number>, msg: string): never => {
    throw new EdgemqError(ERROR_CODES.ACL_FILE_INVALID, `${at(path)}: ${msg}`)
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return fail([], 'an ACL must be a mapping with groups: and rules:')
  const obj = data as Record<string, unknown>
  for (const k of Object.keys(obj)) if (k !== 'groups' && k !== 'rules') fail([k], `unknown key ${JSON.stringify(k)} (an ACL has groups: and rules:)`)
  const groups = new Map<string, string[]>()
  const groupNames = new Set<string>()
  if (obj.groups !== undefined) {
    if (typeof obj.groups !== 'object' || obj.groups === null || Array.isArray(obj.groups)) fail(['groups'], 'groups must map a group name to a list of users, e.g. { sensors: [alice, bob] }')
    for (const [group, members] of Object.entries(obj.groups as Record<string, unknown>)) {
      if (!Array.isArray(members) || members.some((m) => typeof m !== 'string' || m === '')) fail(['groups', group], `group ${group} must be a list of user names`)
      groupNames.add(group)
      for (const user of members as string[]) groups.set(user, [...(groups.get(user) ?? []), group])
    }
  }
  if (!Array.isArray(obj.rules)) return fail(['rules'], 'rules must be a list, e.g. - { group: sensors, allow: readwrite, topic: "sensors/%u/#" }')
  const rules: AclRule[] = (obj.rules as unknown[]).map((raw, i) => {
    const path = ['rules', i]
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail(path, 'a rule must be a mapping such as { group: sensors, allow: read, topic: "a/#" }')
    const r = raw as Record<string, unknown>
    for (const k of Object.keys(r)) if (!RULE_KEYS.has(k)) fail([...path, k], `unknown rule key ${JSON.stringify(k)} (use user, group, anonymous, allow, deny, topic)`)
    const who = ['user', 'group', 'anonymous'].filter((k) => r[k] !== undefined)
    if (who.length > 1) fail(path, `a rule names one of user, group or anonymous: got ${who.join(' and ')}`)
    let subject: AclSubject = { kind: 'all' }
    if (r.user !== undefined) {
      if (typeof r.user !== 'string' || r.user === '') fail([...path, 'user'], 'user must be a user name')
      subject = { kind: 'user', name: r.user as string }
    } else if (r.group !== undefined) {
      if (typeof r.group !== 'string' || !groupNames.has(r.group)) fail([...path, 'group'], `group ${JSON.stringify(r.group)} is not defined under groups: (define it or fix the name)`)
      subject = { kind: 'group', name: r.group as string }
    } else if (r.anonymous !== undefined) {
      if (r.anonymous !== true) fail([...path, 'anonymous'], 'anonymous must be true (leave it out for rules of everyone)')
      subject = { kind: 'anonymous' }
    }
    if ((r.allow === undefined) === (r.deny === undefined)) fail(path, 'a rule has exactly one of allow: or deny: (read, write or readwrite)')
    const effect = r.allow !== undefined ? 'allow' : 'deny'
    const access = r[effect]
    if (typeof access !== 'string' || !(ACCESS as readonly string[]).includes(access)) fail([...path, effect], `${effect} must be read, write or readwrite: got ${JSON.stringify(access)}`)
    if (typeof r.topic !== 'string') return fail(path, 'a rule needs topic: "<filter>"')
    const problem = checkFilter(r.topic)
    if (problem !== undefined) fail([...path, 'topic'], `topic filter ${JSON.stringify(r.topic)} ${problem}`)
    return { subject, effect, read: access !== 'write', write: access !== 'read', topic: r.topic, where: at(path) }
  })
  return { source, groups, rules }
}

/** Parses a YAML ACL file's text. */
export function parseYamlAcl (text: string, path: string): AclPolicy {
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true })
  if (doc.errors.length > 0) {
    const e = doc.errors[0]
    throw new EdgemqError(ERROR_CODES.ACL_FILE_INVALID, `${path}:${e.pos?.[0] === undefined ? 1 : lines.linePos(e.pos[0]).line}: ${e.message.split('\n')[0]} (fix the YAML syntax)`)
  }
  const at = (keyPath: ReadonlyArray<string | number>): string => {
    let node: Node | null | undefined = doc.contents as Node | null
    let found = node
    for (const key of keyPath) {
      if (isMap(node)) {
        const pair = node.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === key)
        if (pair === undefined) break
        node = pair.value as Node | null
        found = node ?? found
      } else if (isSeq(node) && typeof key === 'number') {
        node = node.items[key] as Node | null
        if (node === null || node === undefined) break
        found = node
      } else break
    }
    const offset = found?.range?.[0]
    return offset === undefined ? `${path}:1` : `${path}:${lines.linePos(offset).line}`
  }
  return policyFromData(doc.toJS() ?? {}, path, at)
}
