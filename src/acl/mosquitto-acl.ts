// Mosquitto's acl_file, accepted unchanged so a gateway can move from
// Mosquitto keeping its files (mosquitto.conf(5), "acl_file"):
//   topic [read|write|readwrite|deny] <filter>     before any `user` line: anonymous clients
//   user <name>                                    following topic lines apply to that user
//   pattern [read|write|readwrite|deny] <filter>   every client, with %u / %c
// The access word is optional (readwrite); the filter is the rest of the line.
import { EdgemqError, ERROR_CODES } from '../errors.ts'
import type { AclPolicy, AclRule, AclSubject } from './acl-policy.ts'
import { checkFilter } from './yaml-acl.ts'

const ACCESS = new Set(['read', 'write', 'readwrite', 'deny'])

/** Whether text looks like a Mosquitto acl_file (first meaningful line starts with user/topic/pattern). */
export function looksLikeMosquittoAcl (text: string): boolean {
  const first = text.split('\n').map((l) => l.trim()).find((l) => l !== '' && !l.startsWith('#'))
  return first === undefined || /^(user|topic|pattern)\s/.test(first)
}

/** Parses a Mosquitto acl_file; throws ACL_FILE_INVALID with file:line on the first bad line. */
export function parseMosquittoAcl (text: string, path: string): AclPolicy {
  const rules: AclRule[] = []
  let subject: AclSubject = { kind: 'anonymous' }
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '').replace(/^\s+/, '')
    if (line === '' || line.startsWith('#')) return
    const where = `${path}:${i + 1}`
    const fail = (msg: string): never => { throw new EdgemqError(ERROR_CODES.ACL_FILE_INVALID, `${where}: ${msg}`) }
    const m = /^(\S+)\s+(.*)$/.exec(line)
    if (m === null) return fail(`line ${JSON.stringify(line.slice(0, 60))} needs a value (user <name>, topic [access] <filter>, pattern [access] <filter>)`)
    const [, keyword, value] = m
    if (keyword === 'user') {
      const name = value.replace(/\s+$/, '')
      if (name === '') return fail('user needs a name')
      subject = { kind: 'user', name }
      return
    }
    if (keyword !== 'topic' && keyword !== 'pattern') return fail(`unknown keyword ${JSON.stringify(keyword)} (use user, topic or pattern)`)
    let access = 'readwrite'
    let filter = value.replace(/\s+$/, '')
    const sp = /^(\S+)\s+(.+)$/.exec(filter)
    if (sp !== null && ACCESS.has(sp[1])) { access = sp[1]; filter = sp[2] }
    const problem = checkFilter(filter)
    if (problem !== undefined) return fail(`topic filter ${JSON.stringify(filter)} ${problem}`)
    rules.push({
      subject: keyword === 'pattern' ? { kind: 'all' } : subject,
      effect: access === 'deny' ? 'deny' : 'allow',
      read: access !== 'write',
      write: access !== 'read',
      topic: filter,
      where
    })
  })
  return { source: path, groups: new Map(), rules }
}
