// `edgemq import-mosquitto`: a Mosquitto configuration (and its dynamic-security
// file, if the plugin is configured) into an edgemq config, with a report of
// every input line. Writes nothing over an existing file unless --force.
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, rename, writeFile, chmod } from 'node:fs/promises'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import { stringify } from 'yaml'
import type { CliCommand } from '../cli-command.ts'
import { readMosquittoConf } from '../../migrate/mosquitto-conf.ts'
import { dynsecOutputPaths, importMosquitto, renderImportReport, type ImportFile } from '../../migrate/import-mosquitto.ts'
import { importDynsec, type DynsecFile } from '../../migrate/import-dynsec.ts'
import { isEdgemqError } from '../../errors.ts'

const USAGE = `usage: edgemq import-mosquitto MOSQUITTO.CONF [-o EDGEMQ.YAML] [--force]
       edgemq import-mosquitto --dynsec DYNAMIC-SECURITY.JSON [-o DIR] [--force]

Writes an edgemq config that does what the Mosquitto config did, and prints a
report: every input line as mapped, mapped with a changed default (and why), not
supported (and what to do instead), or ignored. Follows include_dir. A bridge's
remote_password goes to a 0600 file beside the new config, never into it. With
the dynamic-security plugin configured (or --dynsec), its clients, groups, roles
and default access become a password file (the same $7$ hashes: passwords keep
working) and an edgemq ACL beside the new config.

  -o FILE    where to write the config (default: edgemq.yaml beside MOSQUITTO.CONF)
  --force    overwrite existing output files
Then: edgemq check -c FILE, edgemq audit -c FILE. docs/migration.md walks through it.
`

/** The import-mosquitto command. */
export const importMosquittoCommand: CliCommand = {
  name: 'import-mosquitto',
  summary: 'convert a mosquitto.conf (and dynamic-security JSON) into an edgemq config, with a line-by-line report',
  usage: USAGE,
  run: async (args, io) => {
    if (args.includes('--help') || args.includes('-h')) { io.stdout.write(USAGE); return 0 }
    const force = args.includes('--force')
    const rest = args.filter((a) => a !== '--force')
    const o = rest.indexOf('-o')
    const out = o >= 0 ? rest[o + 1] : undefined
    if (o >= 0 && out === undefined) { io.stderr.write('edgemq import-mosquitto: -o needs a file name\n'); return 2 }
    const positional = o < 0 ? rest : rest.filter((_, i) => i !== o && i !== o + 1)
    try {
      if (positional[0] === '--dynsec') {
        const source = positional[1]
        if (source === undefined) { io.stderr.write(`edgemq import-mosquitto: --dynsec needs the JSON file\n${USAGE}`); return 2 }
        const outDir = resolve(out ?? dirname(source))
        const { files, report } = convertDynsec(source, outDir)
        await writeFiles(files, force)
        io.stdout.write(renderImportReport(report))
        for (const f of files) io.stdout.write(`wrote ${f.path}\n`)
        return 0
      }
      const source = positional[0]
      if (source === undefined || positional.length > 1) { io.stderr.write(`edgemq import-mosquitto: name one mosquitto.conf\n${USAGE}`); return 2 }
      const target = resolve(out ?? join(dirname(source), 'edgemq.yaml'))
      const outDir = dirname(target)
      const result = importMosquitto(readMosquittoConf(source), { outDir })
      const files: ImportFile[] = [...result.files]
      for (const dyn of result.dynsecFiles) {
        const path = isAbsolute(dyn) ? dyn : resolve(dirname(source), dyn)
        const converted = convertDynsec(path, outDir)
        files.push(...converted.files)
        result.report.push(...converted.report)
        const auth = (result.config.auth ?? {}) as Record<string, unknown>
        auth.passwordFile = converted.passwordFile
        auth.aclFile = converted.aclFile
        result.config.auth = auth
      }
      const header = `# Imported from ${resolve(source)} by edgemq import-mosquitto.\n# Check it with: edgemq check -c ${target} && edgemq audit -c ${target}\n`
      files.push({ path: target, content: header + stringify(result.config), mode: 0o640 })
      await writeFiles(files, force)
      io.stdout.write(renderImportReport(result.report))
      for (const f of files) io.stdout.write(`wrote ${f.path}\n`)
      return 0
    } catch (err) {
      if (isEdgemqError(err) || (err as NodeJS.ErrnoException).code === 'EEXIST') { io.stderr.write(`edgemq import-mosquitto: ${(err as Error).message}\n`); return 1 }
      throw err
    }
  }
}

function convertDynsec (source: string, outDir: string): { files: ImportFile[], report: ReturnType<typeof importDynsec>['report'], passwordFile: string, aclFile: string } {
  let data: DynsecFile
  try {
    data = JSON.parse(readFileSync(source, 'utf8')) as DynsecFile
  } catch (err) {
    const e = new Error(`cannot read the dynamic-security file ${source}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`) as NodeJS.ErrnoException
    e.code = 'EEXIST'
    throw e
  }
  const converted = importDynsec(data, source)
  const { passwordFile, aclFile } = dynsecOutputPaths(outDir, source)
  return {
    passwordFile,
    aclFile,
    report: converted.report,
    files: [
      { path: passwordFile, content: converted.passwordLines.join('\n') + (converted.passwordLines.length > 0 ? '\n' : ''), mode: 0o600 },
      { path: aclFile, content: `# Converted from ${source} by edgemq import-mosquitto.\n` + stringify(converted.acl), mode: 0o640 }
    ]
  }
}

/** Writes each file atomically with its mode; refuses to overwrite without force. */
async function writeFiles (files: readonly ImportFile[], force: boolean): Promise<void> {
  if (!force) {
    const existing = files.filter((f) => existsSync(f.path)).map((f) => f.path)
    if (existing.length > 0) {
      const e = new Error(`will not overwrite ${existing.join(', ')}: pass --force, or -o another file`) as NodeJS.ErrnoException
      e.code = 'EEXIST'
      throw e
    }
  }
  for (const f of files) {
    await mkdir(dirname(f.path), { recursive: true })
    const tmp = `${f.path}.tmp-${process.pid}`
    await writeFile(tmp, f.content, { mode: f.mode })
    await chmod(tmp, f.mode)
    await rename(tmp, f.path)
  }
}
