// Secrets stay secret (issue 15: a refused bridge config logged the bridge
// password in clear, `check` echoed credentials in URLs). The error cases of
// bridges, config and check are run through the real commands (`check`,
// `config`, `audit` in process, `start` as the built bundle), with secrets in
// every place a user puts them by mistake, and all output is grepped for them.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { chmod, mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { main } from '../../src/cli/run-cli.ts'
import { redactSecrets, redactValue } from '../../src/observability/redact-secrets.ts'
import { createLogger } from '../../src/observability/logger.ts'
import { EdgemqError, ERROR_CODES } from '../../src/errors.ts'
import { buildBundle, runCli, type BuiltBundle } from '../helpers/built-bundle.ts'

const SECRETS = ['Hunter2-bridge-pw', 'UrlPass-9f3a', 'Tok3n-abcdef', 'PlainLinePw-77', 'EnvPass-4242', 'QuotedPw-xyz']

const CASES: Record<string, string> = {
  'bridge auth with an inline password (an unknown key)': 'bridges:\n  - { name: cloud, url: "mqtts://cloud.example:8883", auth: { username: gw, password: Hunter2-bridge-pw }, topics: [ { filter: "s/#", direction: out } ] }\n',
  'bridge url with userinfo': 'bridges:\n  - { name: cloud, url: "mqtts://gw:UrlPass-9f3a@cloud.example:8883", topics: [ { filter: "s/#", direction: out } ] }\n',
  'bridge urls list with userinfo': 'bridges:\n  - { name: cloud, urls: ["mqtt://gw:UrlPass-9f3a@a.example:1883"], topics: [ { filter: "s/#", direction: out } ] }\n',
  'a top-level token (an unknown key)': 'token: Tok3n-abcdef\n',
  'bridge auth section not a mapping, with password inside': 'bridges:\n  - { name: cloud, url: "mqtts://cloud.example:8883", auth: { username: gw, "password": "QuotedPw-xyz", passwordFile: 3 }, topics: [ { filter: "s/#", direction: out } ] }\n'
}

let bundle: BuiltBundle
let n = 0
test.before(async () => { bundle = await buildBundle() })
test.after(async () => { await bundle.remove() })

async function caseDir (): Promise<string> {
  const dir = join(bundle.dir, `s-${++n}`)
  await mkdir(dir)
  return dir
}

async function runInProcess (args: string[]): Promise<string> {
  const out = new PassThrough(); const err = new PassThrough()
  let text = ''
  out.on('data', (d) => { text += d }); err.on('data', (d) => { text += d })
  try {
    await main(args, { stdout: out, stderr: err, stdin: new PassThrough(), env: {} })
  } catch (e) {
    text += String((e as Error).stack) // an escaped error counts as output too
  }
  return text
}

function assertNoSecret (output: string, where: string): void {
  for (const s of SECRETS) assert.not.ok(output.includes(s), `${where} printed the secret ${s}:\n${output}`)
}

for (const [name, yaml] of Object.entries(CASES)) {
  test(`no secret in check, config, audit or start output: ${name}`, async () => {
    const dir = await caseDir()
    const file = join(dir, 'edgemq.yaml')
    await writeFile(file, `${yaml}persistence: { path: ${join(dir, 'data')} }\ncontrol: { socket: ${join(dir, 'c.sock')} }\n`)
    let all = ''
    for (const args of [['check', '-c', file], ['config', '-c', file], ['config', '-c', file, '--json'], ['audit', '-c', file]]) {
      const out = await runInProcess(args)
      all += out
      assertNoSecret(out, `edgemq ${args.join(' ')}`)
    }
    const start = await runCli(bundle.main, ['start', '-c', file])
    assertNoSecret(start.stdout + start.stderr, 'edgemq start (bundle)')
    assert.ok(all.length > 0 && /invalid|must|unknown|redacted/i.test(all + start.stderr), 'the case produced an error to look at')
  })
}

test('no secret when a password file line has no colon (a plain password)', async () => {
  const dir = await caseDir()
  const pw = join(dir, 'passwd')
  await writeFile(pw, 'alice PlainLinePw-77\n')
  await chmod(pw, 0o600)
  const file = join(dir, 'edgemq.yaml')
  await writeFile(file, `auth: { passwordFile: ${pw} }\npersistence: { path: ${join(dir, 'data')} }\ncontrol: { socket: ${join(dir, 'c.sock')} }\n`)
  const check = await runInProcess(['check', '-c', file])
  assert.match(check, /passwd:1: password line must be user:hash/)
  assertNoSecret(check, 'check')
  const start = await runCli(bundle.main, ['start', '-c', file])
  assert.match(start.stderr, /password line must be user:hash/)
  assertNoSecret(start.stderr, 'start')
})

test('the one redaction: by key name in JSON, YAML and key=value forms, and URL userinfo; paths stay readable', () => {
  const text = 'got {"username":"gw","password":"Hunter2-bridge-pw"} password: Tok3n-abcdef token=Tok3n-abcdef url mqtt://gw:UrlPass-9f3a@h:1883 ws://Tok3n-abcdef@h/'
  const red = redactSecrets(text)
  assertNoSecret(red, 'redactSecrets')
  assert.match(red, /"username":"gw"/)
  assert.is(redactSecrets('auth.passwordFile=/etc/edgemq/cloud.pass tls.key=/etc/k.pem /etc/passwd:3: bad'), 'auth.passwordFile=/etc/edgemq/cloud.pass tls.key=/etc/k.pem /etc/passwd:3: bad')
  assert.is(redactSecrets('edgemq passwd: the folder /x does not exist'), 'edgemq passwd: the folder /x does not exist')
  assert.is(redactSecrets('remote_password=Tok3n-abcdef auth.password: Tok3n-abcdef'), 'remote_password=[redacted] auth.password: [redacted]')
  assert.equal(redactValue({ auth: { username: 'gw', password: 'EnvPass-4242' }, url: 'mqtt://a:UrlPass-9f3a@h' }), { auth: { username: 'gw', password: '[redacted]' }, url: 'mqtt://[redacted]@h' })
})

test('log lines and errors pass the redaction wherever they come from', () => {
  const lines: string[] = []
  createLogger({ sink: (l) => lines.push(l) }).error('bridge refused', { got: JSON.stringify({ username: 'gw', password: 'EnvPass-4242' }), url: 'mqtts://gw:UrlPass-9f3a@x' })
  assertNoSecret(lines.join('\n'), 'logger')
  const err = new EdgemqError(ERROR_CODES.CONFIG_INVALID, 'bridges[0].auth: got {"password":"QuotedPw-xyz"}', { problems: ['url mqtt://u:UrlPass-9f3a@h'] })
  assertNoSecret(err.message + err.problems.join(''), 'EdgemqError')
})

test.run()
