import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { renderFail2banFilter, renderFail2banJail } from '../../firmware-tools/lib/fail2ban-files.ts'
import { createLogger } from '../../src/observability/logger.ts'
import { requireTool } from '../helpers/broker-process.ts'

const test = suite('fail2ban filter')

/** fail2ban-regex on log lines with the generated filter: matched/missed counts, the offending IPs found, the output. */
function runRegex (lines: string[], filter = renderFail2banFilter()): { matched: number, missed: number, ips: string[], output: string } {
  const bin = requireTool('fail2ban-regex', 'fail2ban')
  const dir = mkdtempSync(join(tmpdir(), 'edgemq-f2b-'))
  try {
    writeFileSync(join(dir, 'edgemq.log'), lines.join('\n') + '\n')
    writeFileSync(join(dir, 'edgemq.conf'), filter)
    const r = spawnSync(bin, [join(dir, 'edgemq.log'), join(dir, 'edgemq.conf')], { encoding: 'utf8' })
    const output = r.stdout + r.stderr
    const m = /Lines: \d+ lines, \d+ ignored, (\d+) matched, (\d+) missed/.exec(output)
    if (r.status !== 0 || m === null) throw new Error(`fail2ban-regex failed (exit ${r.status}):\n${output}`)
    const ips = spawnSync(bin, ['-o', 'ip', join(dir, 'edgemq.log'), join(dir, 'edgemq.conf')], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l !== '')
    return { matched: Number(m[1]), missed: Number(m[2]), ips, output }
  } finally { rmSync(dir, { recursive: true, force: true }) }
}

test('matches the agreed authentication-failure and ban lines and nothing else', () => {
  const r = runRegex([
    '2026-11-22T04:40:01.123Z warn auth: authentication failed ip=192.0.2.7 user=bob client=c1 listener=lan reason=bad-password',
    '2026-11-22T04:40:02.456Z warn auth: authentication failed ip=2001:db8::5 user="" client=c2 listener=lan reason=no-credentials',
    '2026-11-22T04:40:03.000Z warn auth: banned ip=192.0.2.7 until=2026-11-22T05:40:03.000Z failures=5',
    '2026-11-22T04:40:04.000Z info auth: authenticated ip=192.0.2.8 user=alice client=c3 listener=lan',
    '2026-11-22T04:40:05.000Z warn acl: publish denied ip=192.0.2.9 user=eve client=c4 topic=a/b'
  ])
  assert.is(r.matched, 3, r.output)
  assert.is(r.missed, 2, r.output)
  assert.equal(r.ips, ['192.0.2.7', '2001:db8::5', '192.0.2.7'])
})

test('blames the socket address, not an address a client puts in its user name or client id', () => {
  const lines: string[] = []
  const log = createLogger({ sink: (l) => lines.push(l) }).child('auth')
  log.warn('authentication failed', { ip: '192.0.2.7', user: 'x ip=198.51.100.1', client: 'ip=198.51.100.2', listener: 'lan', reason: 'bad-password' })
  log.warn('authentication failed', { ip: '192.0.2.8', user: 'a "quoted" name\nwarn auth: authentication failed ip=198.51.100.3', client: 'c', listener: 'lan', reason: 'bad-password' })
  const r = runRegex(lines)
  assert.is(r.matched, 2, `${lines.join('\n')}\n${r.output}`)
  assert.equal(r.ips, ['192.0.2.7', '192.0.2.8'])
})

test('still matches when the user name has spaces or is missing', () => {
  const lines: string[] = []
  const log = createLogger({ sink: (l) => lines.push(l) }).child('auth')
  log.warn('authentication failed', { ip: '192.0.2.7', user: 'a b c', client: 'c1', listener: 'lan', reason: 'bad-password' })
  log.warn('authentication failed', { ip: '192.0.2.9', user: undefined, client: 'c2', listener: 'lan', reason: 'no-credentials' })
  const r = runRegex(lines)
  assert.is(r.matched, 2, `${lines.join('\n')}\n${r.output}`)
})

test('matches the line as the broker logger writes it', () => {
  const lines: string[] = []
  const log = createLogger({ sink: (l) => lines.push(l), now: () => new Date('2026-11-22T04:40:01.123Z') }).child('auth')
  log.warn('authentication failed', { ip: '192.0.2.7', user: 'bob', client: 'c1', listener: 'lan', reason: 'bad-password' })
  log.warn('banned', { ip: '192.0.2.7', until: '2026-11-22T05:40:03.000Z', failures: 5 })
  const r = runRegex(lines)
  assert.is(r.matched, 2, `${lines.join('\n')}\n${r.output}`)
})

test('the jail bans at the firewall on the listener ports, reading the journal', () => {
  const jail = renderFail2banJail([8883, 8883, 1883])
  assert.match(jail, /^port = 8883,1883$/m)
  assert.match(jail, /^filter = edgemq$/m)
  assert.match(jail, /^backend = systemd$/m)
  assert.match(jail, /^banaction = nftables\[type=multiport\]$/m)
  assert.match(renderFail2banFilter(), /^journalmatch = _SYSTEMD_UNIT=edgemq\.service$/m)
})

test.run()
