import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { canRead, canSubscribe, canWrite, compileAcl, groupsOf, type AclPolicy } from '../../src/acl/acl-policy.ts'
import { parseYamlAcl } from '../../src/acl/yaml-acl.ts'
import { parseMosquittoAcl, looksLikeMosquittoAcl } from '../../src/acl/mosquitto-acl.ts'
import { loadAcl, parseAclText } from '../../src/acl/load-acl.ts'
import { isEdgemqError, ERROR_CODES } from '../../src/errors.ts'

const ISSUE_ACL = `groups: { sensors: [alice, bob], ops: [carol] }
rules:
  - { group: sensors, allow: readwrite, topic: "sensors/%u/#" }
  - { group: ops, allow: read, topic: "$SYS/#" }
  - { user: bob, deny: write, topic: "sensors/bob/cmd" }
  - { anonymous: true, allow: read, topic: "public/#" }
  - { allow: read, topic: "time" }
`

function client (policy: AclPolicy, username: string | undefined, id = 'c1'): ReturnType<typeof compileAcl> {
  return compileAcl(policy, { id, username, groups: groupsOf(policy, username) })
}

test('the issue\'s example: groups, %u substitution, a user deny over a group allow', () => {
  const p = parseYamlAcl(ISSUE_ACL, 'acl.yaml')
  const alice = client(p, 'alice'); const bob = client(p, 'bob'); const carol = client(p, 'carol')
  assert.ok(canWrite(alice, 'sensors/alice/temp'))
  assert.not.ok(canWrite(alice, 'sensors/bob/temp'))
  assert.ok(canWrite(bob, 'sensors/bob/temp'))
  assert.not.ok(canWrite(bob, 'sensors/bob/cmd'), 'deny wins')
  assert.ok(canRead(bob, 'sensors/bob/cmd'), 'deny write only')
  assert.ok(canRead(carol, '$SYS/broker/clients'))
  assert.not.ok(canRead(alice, '$SYS/broker/clients'))
  assert.ok(canRead(alice, 'time') && canRead(carol, 'time'))
  assert.not.ok(canWrite(alice, 'time'))
})

test('default deny once an ACL exists; an empty ACL denies everything (CVE-2018-12550)', () => {
  const empty = parseAclText('', 'acl')
  const c = client(empty, 'alice')
  assert.not.ok(canWrite(c, 'a')); assert.not.ok(canRead(c, 'a')); assert.not.ok(canSubscribe(c, '#'))
  const emptyYaml = parseYamlAcl('rules: []\n', 'acl.yaml')
  assert.not.ok(canRead(client(emptyYaml, 'x'), 'a'))
})

test('nobody writes $SYS, not even with a rule that says so, and no ACL at all', () => {
  const p = parseYamlAcl('rules:\n  - { allow: readwrite, topic: "$SYS/#" }\n  - { allow: readwrite, topic: "#" }\n', 'a')
  assert.not.ok(canWrite(client(p, 'x'), '$SYS/broker/x'))
  assert.not.ok(canWrite(client(p, 'x'), '$SYS'))
  assert.not.ok(canWrite(undefined, '$SYS/x/new/clients'))
  assert.ok(canWrite(undefined, 'anything'))
})

test('# and +/# never read $SYS: only a rule naming $SYS grants it', () => {
  const p = parseYamlAcl('rules:\n  - { allow: read, topic: "#" }\n', 'a')
  const c = client(p, 'x')
  assert.ok(canRead(c, 'a/b'))
  assert.not.ok(canRead(c, '$SYS/broker/clients/connected'))
  assert.not.ok(canSubscribe(c, '$SYS/#'))
})

test('subscribe: granted when a readable topic can match, refused when a deny swallows it, $share stripped', () => {
  const p = parseYamlAcl('rules:\n  - { allow: read, topic: "site/a/#" }\n  - { deny: read, topic: "site/a/secret/#" }\n', 'a')
  const c = client(p, 'x')
  for (const f of ['#', '+/#', 'site/+/x', '$share/g/#', 'site/a/t']) assert.ok(canSubscribe(c, f), f)
  for (const f of ['site/b/#', '$SYS/#', 'site/a/secret/#', 'site/a/secret/x', '$share/g/site/b/#', 'other']) assert.not.ok(canSubscribe(c, f), f)
  // Delivery is what keeps # honest.
  assert.ok(canRead(c, 'site/a/x'))
  assert.not.ok(canRead(c, 'site/b/x'))
  assert.not.ok(canRead(c, 'site/a/secret/k'))
})

test('%u / %c fill whole levels only; an anonymous client never matches a %u rule', () => {
  const p = parseYamlAcl('rules:\n  - { allow: readwrite, topic: "dev/%c/%u/#" }\n', 'a')
  assert.ok(canWrite(compileAcl(p, { id: 'id1', username: 'u1', groups: [] }), 'dev/id1/u1/x'))
  assert.not.ok(canWrite(compileAcl(p, { id: 'id1', username: 'u1', groups: [] }), 'dev/id2/u1/x'))
  assert.not.ok(canWrite(compileAcl(p, { id: 'id1', username: undefined, groups: [] }), 'dev/id1/%u/x'))
  // A name with a wildcard could widen a pattern (CVE-2017-7650): the rule does not apply.
  assert.not.ok(canWrite(compileAcl(p, { id: '+', username: 'u1', groups: [] }), 'dev/x/u1/y'))
  assert.not.ok(canWrite(compileAcl(p, { id: 'id1', username: '#', groups: [] }), 'dev/id1/anything/y'))
  try { parseYamlAcl('rules:\n  - { allow: read, topic: "dev/x%u" }\n', 'acl.yaml'); assert.unreachable() } catch (err) {
    assert.match((err as Error).message, /acl.yaml:2: .*whole level/)
  }
})

test('YAML ACL errors name file:line and the fix', () => {
  const cases: Array<[string, RegExp]> = [
    ['rules:\n  - { group: nope, allow: read, topic: a }\n', /acl.yaml:2: group "nope" is not defined/],
    ['rules:\n  - { allow: read, deny: read, topic: a }\n', /exactly one of allow: or deny:/],
    ['rules:\n  - { allow: all, topic: a }\n', /allow must be read, write or readwrite/],
    ['rules:\n  - { allow: read }\n', /needs topic/],
    ['rules:\n  - { allow: read, topic: "a/#/b" }\n', /# that is not a whole last level/],
    ['rules:\n  - { allow: read, topic: "a+" }\n', /\+ that is not a whole level/],
    ['rules:\n  - { user: a, group: b, allow: read, topic: x }\n', /one of user, group or anonymous/],
    ['rules:\n  - { alow: read, topic: x }\n', /unknown rule key "alow"/],
    ['groups: [a]\nrules: []\n', /groups must map/],
    ['rulez: []\n', /unknown key "rulez"/],
    ['rules: {\n', /fix the YAML syntax/]
  ]
  for (const [text, why] of cases) {
    try { parseYamlAcl(text, 'acl.yaml'); assert.unreachable(text) } catch (err) {
      assert.ok(isEdgemqError(err, ERROR_CODES.ACL_FILE_INVALID), String(err))
      assert.match((err as Error).message, why, text)
    }
  }
})

test('a Mosquitto acl_file is accepted unchanged: anonymous topics, user sections, patterns, deny', () => {
  const text = `# mosquitto acl
topic read public/#

user alice
topic readwrite home/alice/#
topic deny home/alice/secret
topic home/shared/with spaces

user bob
topic write home/bob/#

pattern write devices/%c/status
pattern read devices/%u/cmd
`
  assert.ok(looksLikeMosquittoAcl(text))
  const p = parseMosquittoAcl(text, 'acl_file')
  const anon = client(p, undefined, 'anon1'); const alice = client(p, 'alice', 'dev1'); const bob = client(p, 'bob', 'dev2')
  assert.ok(canRead(anon, 'public/x'))
  assert.not.ok(canRead(alice, 'public/x'), 'topic lines before any user apply to anonymous clients only')
  assert.ok(canWrite(alice, 'home/alice/x'))
  assert.not.ok(canWrite(alice, 'home/alice/secret') || canRead(alice, 'home/alice/secret'))
  assert.ok(canRead(alice, 'home/shared/with spaces') && canWrite(alice, 'home/shared/with spaces'), 'no access word = readwrite; the filter is the rest of the line')
  assert.ok(canWrite(bob, 'home/bob/x'))
  assert.not.ok(canRead(bob, 'home/bob/x'))
  assert.ok(canWrite(alice, 'devices/dev1/status') && canWrite(bob, 'devices/dev2/status'))
  assert.not.ok(canWrite(bob, 'devices/dev1/status'))
  assert.ok(canRead(bob, 'devices/bob/cmd'))
  assert.ok(canWrite(anon, 'devices/anon1/status'), 'patterns apply to every client')
})

test('a bad Mosquitto acl line names file:line', () => {
  for (const [text, why] of [['user\n', /acl_file:1/], ['topic read a/#/b\n', /acl_file:1: topic filter/], ['topik a\n', /unknown keyword "topik"/]] as const) {
    try { parseMosquittoAcl(text, 'acl_file'); assert.unreachable(text) } catch (err) {
      assert.match((err as Error).message, why)
    }
  }
})

test('loadAcl: a file in either format, an inline section, not both, no ACL = undefined', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'edgemq-acl-'))
  try {
    await writeFile(join(dir, 'acl.yaml'), ISSUE_ACL)
    await writeFile(join(dir, 'acl_file'), 'user alice\ntopic a/#\n')
    assert.is((await loadAcl({ aclFile: join(dir, 'acl.yaml') }))?.rules.length, 5)
    assert.is((await loadAcl({ aclFile: join(dir, 'acl_file') }))?.rules.length, 1)
    assert.is((await loadAcl({ inline: { rules: [{ allow: 'read', topic: 'x' }] } }))?.rules.length, 1)
    assert.is(await loadAcl({}), undefined)
    try { await loadAcl({ aclFile: join(dir, 'acl.yaml'), inline: { rules: [] } }); assert.unreachable() } catch (err) { assert.match((err as Error).message, /keep one/) }
    try { await loadAcl({ aclFile: join(dir, 'missing') }); assert.unreachable() } catch (err) { assert.match((err as Error).message, /cannot read ACL file/) }
  } finally { await rm(dir, { recursive: true, force: true }) }
})

test('the shipped default ACL parses and grants what its comments say', async () => {
  const p = await loadAcl({ aclFile: 'src/acl/default-acl.yaml' })
  assert.ok(p !== undefined)
  const policy = { ...p!, groups: new Map([['s1', ['sensors']], ['op', ['ops']]]) }
  const s1 = client(policy, 's1'); const op = client(policy, 'op')
  assert.ok(canWrite(s1, 'sensors/s1/t') && canRead(s1, 'cmd/s1/reboot'))
  assert.not.ok(canWrite(s1, 'sensors/s2/t') || canRead(s1, 'cmd/s2/x') || canRead(s1, '$SYS/broker/uptime'))
  assert.ok(canRead(op, 'sensors/s1/t') && canRead(op, '$SYS/broker/uptime') && canWrite(op, 'cmd/s1/reboot'))
  assert.not.ok(canWrite(op, 'sensors/s1/t'))
})

test.run()
