// Options of authentication, the ACL and the lockout (auth.*, acl). The
// per-listener security fields (allow, deny, proxyProtocol, crl, ...) are rows
// of LISTENER_FIELDS in src/listeners/listener-options.ts.
import type { OptionSpec } from '../config/option-spec.ts'
import { checkCidrList } from '../listeners/ip-filter.ts'

/** auth.* and acl options. */
export const AUTH_OPTIONS: readonly OptionSpec[] = [
  {
    key: 'auth.passwordFile', type: 'path', reload: 'live',
    doc: 'Password file (user:hash lines; edgemq scrypt, Mosquitto $7$ and $6$); must be mode 0600',
    reason: 'unset: no passwords, only anonymous and certificate logins'
  },
  {
    key: 'auth.aclFile', type: 'path', reload: 'live',
    doc: 'ACL file: edgemq YAML (groups, rules) or a Mosquitto acl_file',
    reason: 'unset and no acl: section means no ACL (everything but $SYS writes allowed); `edgemq audit` flags it'
  },
  {
    key: 'acl', type: 'object', reload: 'live',
    doc: 'Inline ACL (groups:, rules:) instead of auth.aclFile',
    reason: 'small gateways keep one file'
  },
  {
    key: 'auth.deniedPublish', type: 'enum', values: ['acknowledge', 'disconnect'], default: 'acknowledge', reload: 'live',
    doc: 'What a 3.1/3.1.1 client gets for a PUBLISH the ACL denies: acknowledge (PUBACK/PUBREC as if delivered, message dropped) or disconnect (the connection closes). v5 clients always get PUBACK/PUBREC 0x87; denials are logged and counted either way',
    reason: 'acknowledge: 3.1.1 has no negative PUBACK [MQTT-3.3.5-2] and allows either; closing (what Debian\'s Mosquitto 2.0.11 does after its PUBACK) sends a device with a wrong topic into a reconnect loop that resends the same message'
  },
  {
    key: 'auth.bindClientIds', type: 'bool', default: true, reload: 'live',
    doc: 'A client id first used by one user cannot be used by another user (or anonymously)',
    reason: 'stops session hijack by client-id takeover (failure-modes row 7)'
  },
  {
    key: 'auth.closeRevokedSessions', type: 'bool', default: true, reload: 'live',
    doc: 'At reload, close live sessions of deleted users, changed passwords and revoked certificates (v5: DISCONNECT 0x87); false keeps them and logs them',
    reason: 'revoking a credential is meant to end its access now, not when the device next reconnects'
  },
  {
    key: 'auth.maxConcurrentVerifications', type: 'int', unit: 'hashes', default: 2, min: 1, max: 64, reload: 'restart', board: true,
    doc: 'Password hashes computed at once (on the libuv threadpool)',
    reason: 'leaves threadpool threads for LevelDB; each scrypt holds 16 MiB while it runs'
  },
  {
    key: 'auth.maxQueuedVerifications', type: 'int', unit: 'logins', default: 32, min: 0, max: 10_000, reload: 'restart', board: true,
    doc: 'Logins that may wait for a hash slot; beyond, CONNECT is refused at once with 0x89 server busy',
    reason: 'a login burst costs bounded memory and never delays the event loop'
  },
  {
    key: 'auth.maxVerificationsPerIp', type: 'int', unit: 'logins', default: 2, min: 1, max: 1000, reload: 'restart',
    doc: 'Logins from one IP that may be hashing or waiting at once',
    reason: 'one attacking IP cannot take the queue from everybody else'
  },
  {
    key: 'auth.lockout.enabled', type: 'bool', default: true, reload: 'live',
    doc: 'Ban IPs after repeated authentication failures', reason: 'brute force (failure-modes row 13); Mosquitto has no equivalent (#2076)'
  },
  {
    key: 'auth.lockout.window', type: 'duration', unit: 'ms', default: '10m', min: 1000, reload: 'live',
    doc: 'Sliding window in which failures are counted', reason: 'Fail2Ban\'s findtime default'
  },
  {
    key: 'auth.lockout.ipFailures', type: 'int', unit: 'failures', default: 10, min: 1, reload: 'live',
    doc: 'Failures from one IP within the window that ban it',
    reason: 'room for a mistyped password on a few devices behind one NAT; 10 guesses per 10 minutes make brute force hopeless'
  },
  {
    key: 'auth.lockout.userFailures', type: 'int', unit: 'failures', default: 20, min: 0, reload: 'live',
    doc: 'Failures against one user name within the window after which any IP that fails for it is banned at its first failure (0 = off)',
    reason: 'a guessing attack spread over many IPs; the user with the right password still gets in'
  },
  {
    key: 'auth.lockout.banTime', type: 'duration', unit: 'ms', default: '10m', min: 1000, reload: 'live',
    doc: 'First ban; doubles on each repeat offence', reason: 'Fail2Ban\'s bantime default; doubling makes persistence expensive'
  },
  {
    key: 'auth.lockout.maxBanTime', type: 'duration', unit: 'ms', default: '24h', min: 1000, reload: 'live',
    doc: 'Longest ban', reason: 'an address reassigned by DHCP or CGNAT is free again within a day'
  },
  {
    key: 'auth.lockout.ipv6Prefix', type: 'int', unit: 'bits', default: 64, min: 32, max: 128, reload: 'live',
    doc: 'IPv6 clients are counted and banned per prefix of this length (128 = per address)',
    reason: 'an IPv6 host usually holds a whole /64 and could rotate through it to dodge per-address bans'
  },
  {
    key: 'auth.lockout.ignore', type: 'cidr[]', default: [], reload: 'live', check: checkCidrList,
    doc: 'CIDR ranges never banned (the operator\'s own hosts)', reason: 'empty: loopback is banned too, so a local attacker gains nothing'
  }
]
