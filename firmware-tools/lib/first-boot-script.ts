// The first-boot script: runs once on the gateway, as root, before the broker,
// so that every secret is made on the device and none is in the image.

import { INSTALL_PATHS as P } from './install-paths.ts'

/** /usr/lib/edgemq/firstboot (POSIX sh). Idempotent: keeps any key, cert or password already there. */
export function renderFirstBootScript (): string {
  return `#!/bin/sh
# edgemq first boot: TLS key + self-signed certificate (unless given), and an
# initial admin password readable by root only. Safe to run again.
set -eu
umask 077
install -d -o root -g edgemq -m 0750 ${P.configDir} ${P.tlsDir}

if [ ! -s ${P.tlsKey} ] || [ ! -s ${P.tlsCert} ]; then
  host=$(hostname 2>/dev/null || echo edgemq)
  # P-256: fast TLS handshakes on small ARM cores; 10 years, the gateway has no ACME.
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \\
    -keyout ${P.tlsKey}.new -out ${P.tlsCert}.new -days 3650 \\
    -subj "/CN=$host" -addext "subjectAltName=DNS:$host,DNS:localhost,IP:127.0.0.1" 2>/dev/null
  mv ${P.tlsKey}.new ${P.tlsKey}
  mv ${P.tlsCert}.new ${P.tlsCert}
fi
chown root:edgemq ${P.tlsKey} ${P.tlsCert}
chmod 0640 ${P.tlsKey}
chmod 0644 ${P.tlsCert}

[ -e ${P.passwordFile} ] || : > ${P.passwordFile}
if [ ! -e ${P.initialPassword} ] && ! grep -q '^admin:' ${P.passwordFile}; then
  # 18 random bytes = 24 base64 characters, no padding.
  pw=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
  if printf '%s\n' "$pw" | ${P.cli} passwd --stdin ${P.passwordFile} admin >/dev/null 2>&1; then
    printf 'user: admin\npassword: %s\n' "$pw" > ${P.initialPassword}
  else
    printf 'user: admin\npassword: %s\n# NOT SET: edgemq passwd failed; set it with: edgemq passwd %s admin\n' "$pw" ${P.passwordFile} > ${P.initialPassword}
  fi
  chown root:root ${P.initialPassword}
  chmod 0600 ${P.initialPassword}
fi
# edgemq passwd writes 0600 root; the broker (group edgemq) reads it, nobody else.
chown root:edgemq ${P.passwordFile}
chmod 0640 ${P.passwordFile}

# The http listener's bearer token: 0600 and owned by the broker's user (edgemq
# refuses a token file others can read). Give it to the local Prometheus.
if [ ! -s ${P.httpToken} ]; then
  head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > ${P.httpToken}.new
  mv ${P.httpToken}.new ${P.httpToken}
fi
chown edgemq:edgemq ${P.httpToken}
chmod 0600 ${P.httpToken}

install -d -o edgemq -g edgemq -m 0750 ${P.dataDir}
: > ${P.firstBootDone}
chown edgemq:edgemq ${P.firstBootDone}
echo "edgemq first boot done: certificate ${P.tlsCert}, admin password in ${P.initialPassword} (root only)"
`
}

/** /usr/lib/edgemq/wait-ready.mjs: the unit's readiness check, a TCP connect to each listener until it accepts. */
export function renderWaitReadyScript (): string {
  return `// edgemq readiness check (ExecStartPost): exits 0 once every host:port accepts a
// TCP connection, 1 after --timeout seconds. Plain Node, no dependencies.
import { connect } from 'node:net'
const args = process.argv.slice(2)
let timeoutS = 60
const targets = []
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--timeout') timeoutS = Number(args[++i])
  else targets.push(args[i])
}
const deadline = Date.now() + timeoutS * 1000
const tryOnce = (host, port) => new Promise((resolve) => {
  const s = connect({ host, port })
  s.setTimeout(2000)
  s.once('connect', () => { s.destroy(); resolve(true) })
  s.once('timeout', () => { s.destroy(); resolve(false) })
  s.once('error', () => resolve(false))
})
for (const t of targets) {
  const i = t.lastIndexOf(':')
  const host = t.slice(0, i).replace(/^\\[|\\]$/g, ''); const port = Number(t.slice(i + 1))
  while (!(await tryOnce(host, port))) {
    if (Date.now() > deadline) { console.error('edgemq not listening on ' + t + ' after ' + timeoutS + ' s'); process.exit(1) }
    await new Promise((r) => setTimeout(r, 250))
  }
}
`
}
