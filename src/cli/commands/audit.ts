// `edgemq audit [-c site.yaml]`: the security checks of src/audit as a table;
// exits 1 when a finding is high, so CI and packaging can gate on it.
import type { CliCommand } from '../cli-command.ts'
import { CONFIG_FLAGS_HELP, parseConfigArgs } from '../cli-args.ts'
import { loadEffectiveConfig } from '../load-effective-config.ts'
import { auditConfig, formatFindings } from '../../audit/audit-config.ts'

/** The audit command. */
export const auditCommand: CliCommand = {
  name: 'audit',
  summary: 'check a config against the security practices; exit 1 on high findings',
  usage: `usage: edgemq audit [-c FILE] [--json]

Checks: public bind without TLS, anonymous access off loopback, no ACL or an
allow-all ACL, max packet size, connection-rate limits, TLS certificates,
password-file mode and hash strength, unused listeners.
      --json          machine-readable output
${CONFIG_FLAGS_HELP}
`,
  run: async (args, io) => {
    const { configPath, flags, help, values } = parseConfigArgs(args, { json: { type: 'boolean' } })
    if (help) { io.stdout.write(auditCommand.usage); return 0 }
    const { config } = await loadEffectiveConfig(configPath, flags)
    const findings = await auditConfig(config)
    io.stdout.write(values.json === true ? JSON.stringify(findings, null, 2) + '\n' : formatFindings(findings))
    const high = findings.filter((f) => f.severity === 'high').length
    if (values.json !== true) io.stdout.write(`${findings.length} finding(s), ${high} high\n`)
    return high > 0 ? 1 : 0
  }
}
