// The default config of a packaged gateway: loopback listener, the data dir
// under /var/lib, the board pinned, and auth/ACL wired when the broker's
// option table has those keys. Plus the default ACL and its empty password file.
import type { BoardProfile } from '../../src/config/boards.ts'
import { findOption } from '../../src/config/option-table.ts'
import { INSTALL_PATHS } from './install-paths.ts'

/** Whether the running option table already knows `key` (the auth part adds its keys later). */
export function hasOption (key: string): boolean {
  return findOption(key) !== undefined
}

/** edgemq.yaml for a board: secure by default, nothing open beyond loopback. */
export function renderDefaultConfig (board: BoardProfile): string {
  const auth = hasOption('auth.passwordFile') && hasOption('auth.aclFile')
    ? `auth:
  passwordFile: ${INSTALL_PATHS.passwordFile}
  aclFile: ${INSTALL_PATHS.aclFile}
`
    : `# TODO(auth): enable once the broker has auth.passwordFile / auth.aclFile:
# auth:
#   passwordFile: ${INSTALL_PATHS.passwordFile}
#   aclFile: ${INSTALL_PATHS.aclFile}
`
  return `# edgemq configuration for board ${board.name} (${board.description}).
# Installed once by the package; upgrades never overwrite it. Reload: systemctl reload edgemq
# Reference: edgemq config --explain
board: ${board.name}

# Secure by default: loopback only. To serve the LAN, add a TLS listener with the
# certificate made at first boot, then regenerate the firewall (docs/deploy.md):
#  - name: lan-tls
#    type: tls
#    host: 0.0.0.0
#    port: 8883
#    cert: ${INSTALL_PATHS.tlsCert}
#    key: ${INSTALL_PATHS.tlsKey}
listeners:
  - name: local
    type: tcp
    host: 127.0.0.1
    port: 1883
  # Metrics (/metrics), health (/health/live, /health/ready), the JSON API and
  # the status page (docs/observability.md). Loopback only: reach it over SSH
  # (ssh -L 9883:127.0.0.1:9883 gateway). Health is open on loopback; the rest
  # needs the bearer token made at first boot (${INSTALL_PATHS.httpToken}) or
  # HTTP Basic as a user of the admins group.
  - name: http
    type: http
    host: 127.0.0.1
    port: 9883
    tokenFile: ${INSTALL_PATHS.httpToken}
    apiGroup: admins

persistence:
  path: ${INSTALL_PATHS.dataDir}

${auth}`
}

/** acl.yaml: default deny; the admin group may do everything. */
export function renderDefaultAcl (): string {
  return `# edgemq authorization map (default deny: anything no rule allows is refused).
# Users are in ${INSTALL_PATHS.passwordFile} (edgemq passwd ${INSTALL_PATHS.passwordFile} USER).
# Rules: { user | group | anonymous, allow | deny: read | write | readwrite, topic }
groups:
  admins: [admin]
rules:
  - { group: admins, allow: readwrite, topic: '#' }
`
}
