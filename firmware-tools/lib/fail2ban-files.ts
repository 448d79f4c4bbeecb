// Fail2Ban filter and jail for the broker's auth log lines. The broker bans
// by itself inside the process; Fail2Ban lifts repeated offenders to the
// firewall, so their packets stop before any TLS handshake or CONNECT parse.
import { readFileSync } from 'node:fs'
import { INSTALL_PATHS } from './install-paths.ts'

/** The filter (filter.d/edgemq.conf): the one the security part ships in
 *  src/auth/fail2ban/, so the packaged and the hand-installed filter cannot differ. */
export function renderFail2banFilter (): string {
  return readFileSync(new URL('../../src/auth/fail2ban/filter.d/edgemq.conf', import.meta.url), 'utf8')
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
