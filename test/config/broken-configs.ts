// The collection of broken configs (issue 15: "`edgemq check` and `edgemq
// start` agree on every config in the test suite's collection"). Each case is
// a config and the files it names, written into a temp folder (`$DIR` in the
// YAML), and what both commands must say about it. Add a case here whenever
// start refuses something check did not see.

/** One broken config. */
export interface BrokenConfig {
  name: string
  /** The config, `$DIR` replaced by the case's temp folder; persistence and control go there too. */
  yaml: string
  /** Files to write first: path relative to $DIR → text (and mode, default 0600). */
  files?: Record<string, { text: string, mode?: number }>
  /** Every one of these must appear in the output of both check and start. */
  expect: RegExp[]
}

const PASSWD_OK = 'alice:$7$101$MTIzNDU2Nzg5MDEyMzQ1Ng==$mUvCb+Ly/1t2TANwm3nYOm1NY8U0VUAgfvM8ZpJqFcUvJ6ZfKi9Sg8c6H5sGq4bh6bZJmI6s4QSUVnx6Xp4jHg==\n'
const ACL_OK = 'groups: { sensors: [alice] }\nrules:\n  - { group: sensors, allow: readwrite, topic: "sensors/#" }\n'

/** The collection. */
export const BROKEN_CONFIGS: BrokenConfig[] = [
  {
    name: 'missing password file',
    yaml: 'auth: { passwordFile: $DIR/nope.passwd }\n',
    expect: [/cannot read password file .*nope\.passwd/]
  },
  {
    name: 'malformed password file',
    yaml: 'auth: { passwordFile: $DIR/passwd }\n',
    files: { passwd: { text: 'this line has no colon\n' } },
    expect: [/passwd:1/]
  },
  {
    name: 'password file mode 0644',
    yaml: 'auth: { passwordFile: $DIR/passwd }\n',
    files: { passwd: { text: PASSWD_OK, mode: 0o644 } },
    expect: [/has mode 0644: a password file must not be group-writable or world-readable \(fix: chmod 600/]
  },
  {
    name: 'missing ACL file',
    yaml: 'auth: { aclFile: $DIR/nope-acl.yaml }\n',
    expect: [/cannot read ACL file .*nope-acl\.yaml/]
  },
  {
    name: 'invalid ACL file',
    yaml: 'auth: { aclFile: $DIR/acl.yaml }\n',
    files: { 'acl.yaml': { text: 'rules:\n  - { group: sensors, allow: sometimes, topic: "#" }\n', mode: 0o644 } },
    expect: [/acl\.yaml/]
  },
  {
    name: "the README's TLS sample with no certificate on disk",
    yaml: 'listeners:\n  - { name: local, type: tcp, host: 127.0.0.1, port: 0 }\n  - { name: lan-tls, type: tls, host: 127.0.0.1, port: 0, cert: $DIR/tls.crt, key: $DIR/tls.key }\n',
    expect: [/listener lan-tls: cannot read cert .*tls\.crt/]
  },
  {
    name: 'a TLS certificate that is not PEM',
    yaml: 'listeners:\n  - { name: lan-tls, type: tls, host: 127.0.0.1, port: 0, cert: $DIR/tls.crt, key: $DIR/tls.key }\n',
    files: { 'tls.crt': { text: 'not a certificate\n' }, 'tls.key': { text: 'not a key\n' } },
    expect: [/lan-tls/]
  },
  {
    name: 'missing bridge password file',
    yaml: 'bridges:\n  - { name: cloud, url: "mqtt://127.0.0.1:1", auth: { username: gw, passwordFile: $DIR/cloud.pass }, topics: [ { filter: "s/#", direction: out } ] }\n',
    expect: [/bridge cloud: cannot read auth\.passwordFile .*cloud\.pass/]
  },
  {
    name: 'missing bridge seal key',
    yaml: 'bridges:\n  - { name: cloud, url: "mqtt://127.0.0.1:1", topics: [ { filter: "s/#", direction: out } ], seal: { topics: ["s/#"], mode: anonymous, recipientPublicKeyFile: $DIR/consumer.key.pub } }\n',
    expect: [/consumer\.key\.pub/]
  },
  {
    name: 'tls settings on an mqtt:// bridge url',
    yaml: 'bridges:\n  - { name: cloud, url: "mqtt://127.0.0.1:1", tls: { ca: $DIR/ca.pem }, topics: [ { filter: "s/#", direction: out } ] }\n',
    files: { 'ca.pem': { text: 'x\n', mode: 0o644 } },
    expect: [/cloud.*tls.*mqtts:\/\//]
  },
  {
    name: 'two listeners on one port, one on 0.0.0.0 (docs/security.md step 3 as it was)',
    yaml: 'listeners:\n  - { name: local, type: tcp, host: 127.0.0.1, port: 18831 }\n  - { name: lan, type: tcp, host: 0.0.0.0, port: 18831, allow: [192.168.0.0/16] }\n',
    expect: [/listeners local \(127\.0\.0\.1:18831\) and lan \(0\.0\.0\.0:18831\) use the same port/]
  },
  {
    name: 'persistence.path is a file',
    yaml: 'persistence: { path: $DIR/notes.txt }\n',
    files: { 'notes.txt': { text: 'my notes\n', mode: 0o644 } },
    expect: [/notes\.txt" is a file, not a store folder/]
  },
  {
    name: 'three problems at once: every one is reported',
    yaml: 'auth: { passwordFile: $DIR/nope.passwd, aclFile: $DIR/nope-acl.yaml }\nlisteners:\n  - { name: t, type: tls, host: 127.0.0.1, port: 0, cert: $DIR/none.crt, key: $DIR/none.key }\n',
    expect: [/cannot read password file/, /cannot read ACL file/, /listener t: cannot read cert/]
  }
]

/** A config that is fine (the control: check says ok and start starts). */
export const GOOD_CONFIG: BrokenConfig = {
  name: 'good',
  yaml: 'auth: { passwordFile: $DIR/passwd, aclFile: $DIR/acl.yaml }\n',
  files: { passwd: { text: PASSWD_OK }, 'acl.yaml': { text: ACL_OK, mode: 0o644 } },
  expect: []
}
