import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { renderNftablesRules, splitCidrs } from '../../firmware-tools/lib/nftables-rules.ts'
import { isEdgemqError } from '../../src/errors.ts'
import { requireTool } from '../helpers/broker-process.ts'

const test = suite('nftables rules')

/** `nft -c -f` (check only, nothing loaded) on a ruleset; returns exit code and output. */
function nftCheck (text: string): { code: number, output: string } {
  const nft = requireTool('nft', 'nftables')
  const dir = mkdtempSync(join(tmpdir(), 'edgemq-nft-'))
  try {
    writeFileSync(join(dir, 'edgemq.nft'), text)
    const r = spawnSync(nft, ['-c', '-f', join(dir, 'edgemq.nft')], { encoding: 'utf8' })
    return { code: r.status ?? 1, output: r.stdout + r.stderr }
  } finally { rmSync(dir, { recursive: true, force: true }) }
}

/** The accept rules of the input chain that open a TCP port. */
function portRules (text: string): string[] {
  return text.split('\n').map((l) => l.trim()).filter((l) => /tcp dport \d+ accept/.test(l))
}

test('nft -c accepts the ruleset for loopback, open and CIDR-limited listeners', () => {
  const text = renderNftablesRules({
    listeners: [
      { name: 'local', host: '127.0.0.1', port: 1883 },
      { name: 'lan-tls', host: '0.0.0.0', port: 8883, allow: ['192.0.2.0/24', '2001:db8::/32', '198.51.100.7'] },
      { name: 'ws', host: '::', port: 8080 }
    ]
  })
  const r = nftCheck(text)
  assert.is(r.code, 0, r.output)
})

test('nft -c rejects a broken ruleset (the check can fail)', () => {
  const text = renderNftablesRules({ listeners: [] }).replace('policy drop;', 'policy dorp;')
  assert.is.not(nftCheck(text).code, 0)
})

test('opens only the non-loopback listener ports and SSH, and drops the rest', () => {
  const text = renderNftablesRules({ listeners: [{ name: 'local', host: '127.0.0.1', port: 1883 }, { name: 'lan', host: '0.0.0.0', port: 8883 }] })
  assert.equal(portRules(text), ['tcp dport 22 accept comment "ssh"', 'tcp dport 8883 accept comment "edgemq listener lan"'])
  assert.match(text, /policy drop;/)
  assert.match(text, /iif "lo" accept/)
})

test('limits a listener to its allow lists, split by address family', () => {
  const text = renderNftablesRules({ listeners: [{ name: 'lan', host: '0.0.0.0', port: 8883, allow: ['192.0.2.0/24', '2001:db8::/32'] }], sshPort: null })
  assert.equal(portRules(text), [
    'ip saddr { 192.0.2.0/24 } tcp dport 8883 accept comment "edgemq listener lan"',
    'ip6 saddr { 2001:db8::/32 } tcp dport 8883 accept comment "edgemq listener lan"'
  ])
})

test('SSH can be limited to a CIDR or closed', () => {
  const limited = renderNftablesRules({ listeners: [], sshPort: 2222, sshAllow: ['203.0.113.0/24'] })
  assert.equal(portRules(limited), ['ip saddr { 203.0.113.0/24 } tcp dport 2222 accept comment "ssh"'])
  assert.equal(portRules(renderNftablesRules({ listeners: [], sshPort: null })), [])
  assert.is(nftCheck(limited).code, 0)
})

test('refuses an allow entry that is not an address or CIDR, naming it', () => {
  for (const bad of ['192.0.2.0/33', 'lan', '2001:db8::/129', '10.0.0.0/8/1']) {
    try {
      splitCidrs([bad], 'listener "lan" allow list')
      assert.unreachable(bad)
    } catch (err) {
      assert.ok(isEdgemqError(err), String(err))
      assert.ok((err as Error).message.includes(`"${bad}"`), (err as Error).message)
    }
  }
})

test('the file is idempotent to load: it deletes and recreates only its own table', () => {
  const text = renderNftablesRules({ listeners: [] })
  assert.match(text, /^table inet edgemq\ndelete table inet edgemq\ntable inet edgemq \{/m)
})

test.run()
