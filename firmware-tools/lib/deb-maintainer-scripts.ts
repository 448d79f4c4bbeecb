// The .deb maintainer scripts. They create the user and data dir, copy the
// default config only where none exists (so upgrades never prompt and never
// overwrite), keep config and data on remove, and touch systemd only when it
// is running (a chroot, an SD card mounted on a laptop, a container).
import { INSTALL_PATHS as P } from './install-paths.ts'

/** Files postinst copies from the defaults folder into /etc/edgemq when absent: [name, mode]. */
export const DEFAULT_FILES: ReadonlyArray<readonly [string, string]> = [
  ['edgemq.yaml', '0640'],
  ['acl.yaml', '0640'],
  ['passwd', '0640'],
  ['edgemq.nft', '0644']
]

const SYSTEMD_RUNNING = '[ -d /run/systemd/system ]'

/** DEBIAN/postinst */
export function renderPostinst (): string {
  const copies = DEFAULT_FILES.map(([name, mode]) =>
    `  if [ ! -e ${P.configDir}/${name} ]; then install -o root -g edgemq -m ${mode} ${P.defaults}/${name} ${P.configDir}/${name}; fi`).join('\n')
  return `#!/bin/sh
set -e
case "$1" in
configure)
  if ! getent group edgemq >/dev/null; then groupadd --system edgemq; fi
  if ! getent passwd edgemq >/dev/null; then
    useradd --system --gid edgemq --home-dir ${P.dataDir} --no-create-home \\
      --shell /usr/sbin/nologin --comment "edgemq MQTT broker" edgemq
  fi
  install -d -o root -g edgemq -m 0750 ${P.configDir}
  install -d -o edgemq -g edgemq -m 0750 ${P.dataDir}
${copies}
  # Enable without needing a running systemd: the symlinks systemctl enable would make.
  if command -v systemctl >/dev/null 2>&1; then
    systemctl enable edgemq.service edgemq-firstboot.service >/dev/null 2>&1 || true
  fi
  install -d /etc/systemd/system/multi-user.target.wants
  ln -sf ${P.brokerUnit} /etc/systemd/system/multi-user.target.wants/edgemq.service
  ln -sf ${P.firstBootUnit} /etc/systemd/system/multi-user.target.wants/edgemq-firstboot.service
  if ${SYSTEMD_RUNNING}; then
    systemctl daemon-reload || true
    if [ -n "$2" ]; then systemctl try-restart edgemq.service || true
    else systemctl start edgemq.service || true; fi
  fi
  ;;
esac
exit 0
`
}

/** DEBIAN/prerm: stop the broker on remove (an upgrade restarts it in postinst). */
export function renderPrerm (): string {
  return `#!/bin/sh
set -e
if [ "$1" = remove ] && ${SYSTEMD_RUNNING}; then
  systemctl stop edgemq.service || true
fi
exit 0
`
}

/** DEBIAN/postrm: remove keeps config and data; purge removes them, the user and the unit links. */
export function renderPostrm (): string {
  return `#!/bin/sh
set -e
case "$1" in
remove)
  rm -f /etc/systemd/system/multi-user.target.wants/edgemq.service /etc/systemd/system/multi-user.target.wants/edgemq-firstboot.service
  if ${SYSTEMD_RUNNING}; then systemctl daemon-reload || true; fi
  ;;
purge)
  rm -f /etc/systemd/system/multi-user.target.wants/edgemq.service /etc/systemd/system/multi-user.target.wants/edgemq-firstboot.service
  rm -rf ${P.dataDir} ${P.configDir} /etc/systemd/system/edgemq.service.d ${P.fail2banSiteJail}
  if getent passwd edgemq >/dev/null; then userdel edgemq || true; fi
  if getent group edgemq >/dev/null; then groupdel edgemq 2>/dev/null || true; fi
  if ${SYSTEMD_RUNNING}; then systemctl daemon-reload || true; fi
  ;;
esac
exit 0
`
}

/** DEBIAN/control */
export function renderControl (options: { version: string, arch: string, installedSizeKiB: number, board: string }): string {
  return `Package: edgemq
Version: ${options.version}
Architecture: ${options.arch}
Maintainer: edgemq maintainers <edgemq@localhost>
Installed-Size: ${options.installedSizeKiB}
Depends: openssl, passwd
Recommends: nftables, fail2ban
Section: net
Priority: optional
Description: hardened MQTT broker for edge gateways (board ${options.board})
 edgemq is an MQTT 3.1.1/5.0 broker with LevelDB persistence, TLS, password
 and ACL auth, brute-force lockout and an upstream bridge. This package
 carries its own Node.js runtime and runs as the unprivileged edgemq user
 under a hardened systemd unit.
`
}
