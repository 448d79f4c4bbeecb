// Fail2Ban filter and jail for the broker's auth log lines. The broker bans
// by itself inside the process; Fail2Ban lifts repeated offenders to the
// firewall, so their packets stop before any TLS handshake or CONNECT parse.
import { INSTALL_PATHS } from './install-paths.ts'

// One logged field value: the logger JSON-quotes values with spaces, quotes or
// "=" (and empty ones), so a user name like "a b" cannot slip past the filter.
// ip= is always the first field: nothing a client sends can stand before it.
const VALUE = '(?:"(?:[^"\\\\]|\\\\.)*"|[^\\s"]+)'

/** The filter (filter.d/edgemq.conf). Matches the agreed auth log lines:
 *  `<ISO time> warn auth: authentication failed ip=<ip> user=<name> client=<id> listener=<name> reason=<word>`
 *  `<ISO time> warn auth: banned ip=<ip> until=<ISO time> failures=<n>` */
export function renderFail2banFilter (): string {
  return `# edgemq authentication failures (firmware-tools generated).
[Definition]
failregex = ^\\s*warn auth: authentication failed ip=<ADDR>(?: [A-Za-z]+=${VALUE})*\\s*$
            ^\\s*warn auth: banned ip=<ADDR> until=\\S+ failures=\\d+\\s*$
ignoreregex =
# The broker writes its own ISO 8601 UTC time first; journal lines carry it too.
datepattern = {^LN-BEG}%%Y-%%m-%%dT%%H:%%M:%%S(?:\\.%%f)?(?:Z|%%z)?
journalmatch = _SYSTEMD_UNIT=edgemq.service
`
}

/** The jail (jail.d/edgemq.conf) for the ports the listeners open. */
export function renderFail2banJail (ports: readonly number[]): string {
  const list = ports.length > 0 ? [...new Set(ports)].join(',') : '1883'
  return `# edgemq jail (firmware-tools generated): 5 failures in 10 minutes, 1 hour ban
# at the firewall; the broker's own lockout acts sooner, per client.
[edgemq]
enabled = true
filter = edgemq
backend = systemd
port = ${list}
protocol = tcp
banaction = nftables[type=multiport]
maxretry = 5
findtime = 10m
bantime = 1h
ignoreip = 127.0.0.0/8 ::1
# For a log file instead of the journal: backend = auto, logpath = /var/log/edgemq.log
# Unit: ${INSTALL_PATHS.brokerUnit}
`
}
