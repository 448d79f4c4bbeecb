// Where the package puts things on the gateway. One table, so the unit, the
// maintainer scripts, the flash tool and the docs cannot disagree.

/** Install locations on the gateway. */
export const INSTALL_PATHS = {
  /** Bundle, LevelDB addon, runtime, board profile, manifest. */
  prefix: '/opt/edgemq',
  bundle: '/opt/edgemq/edgemq.mjs',
  node: '/opt/edgemq/node/bin/node',
  board: '/opt/edgemq/board.json',
  buildInfo: '/opt/edgemq/build-info.json',
  manifest: '/opt/edgemq/MANIFEST.sha256',
  /** The `edgemq` command for operators. */
  cli: '/usr/bin/edgemq',
  libexec: '/usr/lib/edgemq',
  waitReady: '/usr/lib/edgemq/wait-ready.mjs',
  firstBoot: '/usr/lib/edgemq/firstboot',
  /** Pristine defaults; postinst copies them to /etc/edgemq only where absent. */
  defaults: '/usr/share/edgemq/defaults',
  docs: '/usr/share/doc/edgemq',
  configDir: '/etc/edgemq',
  config: '/etc/edgemq/edgemq.yaml',
  aclFile: '/etc/edgemq/acl.yaml',
  passwordFile: '/etc/edgemq/passwd',
  nftables: '/etc/edgemq/edgemq.nft',
  tlsDir: '/etc/edgemq/tls',
  tlsCert: '/etc/edgemq/tls/server.crt',
  tlsKey: '/etc/edgemq/tls/server.key',
  initialPassword: '/etc/edgemq/initial-admin-password',
  /** Bearer token of the loopback http listener (metrics, API, status page), made at first boot. */
  httpToken: '/etc/edgemq/http-token',
  dataDir: '/var/lib/edgemq',
  firstBootDone: '/var/lib/edgemq/.firstboot-done',
  unitDir: '/lib/systemd/system',
  brokerUnit: '/lib/systemd/system/edgemq.service',
  firstBootUnit: '/lib/systemd/system/edgemq-firstboot.service',
  siteDropIn: '/etc/systemd/system/edgemq.service.d/site.conf',
  fail2banFilter: '/etc/fail2ban/filter.d/edgemq.conf',
  fail2banJail: '/etc/fail2ban/jail.d/edgemq.conf',
  /** The site's jail ports, written by flash; read after edgemq.conf, so its keys win. */
  fail2banSiteJail: '/etc/fail2ban/jail.d/edgemq-site.conf'
} as const
