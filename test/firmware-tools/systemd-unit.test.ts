import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { BOARDS, getBoard } from '../../src/config/boards.ts'
import { boardHeap, capabilityLines, heapFlags, renderBrokerUnit, renderFirstBootUnit } from '../../firmware-tools/lib/systemd-unit.ts'
import { renderListenerFiles } from '../../firmware-tools/lib/listener-files.ts'
import { requireTool } from '../helpers/broker-process.ts'

const test = suite('systemd unit')
const rpi = getBoard('rpi-4b')
const unit = renderBrokerUnit({ board: rpi, ports: [1883], readyTargets: ['127.0.0.1:1883'], maxConnections: 10_000 })

/** The value(s) of a directive in a unit text. */
function values (text: string, key: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1))
}

/**
 * systemd-analyze verify on unit files in a temp dir. The executables live under
 * /opt/edgemq on a gateway, not on this host, so "not executable" for those paths
 * is the one complaint allowed; anything else (an unknown key, a bad value) fails.
 */
function verify (files: Record<string, string>): string[] {
  const bin = requireTool('systemd-analyze', 'systemd')
  const dir = mkdtempSync(join(tmpdir(), 'edgemq-unit-'))
  try {
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
    const r = spawnSync(bin, ['verify', ...Object.keys(files).map((n) => join(dir, n))], { encoding: 'utf8', env: { ...process.env, SYSTEMD_LOG_COLOR: '0' } })
    return (r.stdout + r.stderr).split('\n').filter((l) => l.trim() !== '' && !/Command \/(opt|usr\/lib)\/edgemq\/\S+ is not executable/.test(l))
  } finally { rmSync(dir, { recursive: true, force: true }) }
}

test('systemd-analyze verify finds nothing wrong in the broker unit of every board', () => {
  for (const board of BOARDS) {
    const text = renderBrokerUnit({ board, ports: [1883, 8883], readyTargets: ['127.0.0.1:1883'] })
    assert.equal(verify({ 'edgemq.service': text, 'edgemq-firstboot.service': renderFirstBootUnit() }), [], board.name)
  }
})

test('systemd-analyze verify rejects a misspelt directive (the check can fail)', () => {
  const broken = unit.replace('ProtectSystem=strict', 'ProtectSystm=strict')
  const complaints = verify({ 'edgemq.service': broken, 'edgemq-firstboot.service': renderFirstBootUnit() })
  assert.ok(complaints.some((l) => l.includes('ProtectSystm')), complaints.join('\n'))
})

test('systemd-analyze security rates the sandbox OK (exposure below 2.0 of 10)', () => {
  const bin = requireTool('systemd-analyze', 'systemd')
  const dir = mkdtempSync(join(tmpdir(), 'edgemq-unit-'))
  try {
    writeFileSync(join(dir, 'edgemq.service'), unit)
    const r = spawnSync(bin, ['security', '--offline=yes', join(dir, 'edgemq.service')], { encoding: 'utf8' })
    const m = /Overall exposure level for edgemq\.service: ([\d.]+)/.exec(r.stdout + r.stderr)
    assert.ok(m !== null, r.stdout + r.stderr)
    assert.ok(Number(m[1]) < 2.0, `exposure ${m[1]}:\n${r.stdout}`)
  } finally { rmSync(dir, { recursive: true, force: true }) }
})

test('runs as the edgemq user with the sandbox directives and only the data dir writable', () => {
  assert.equal(values(unit, 'User'), ['edgemq'])
  assert.equal(values(unit, 'Group'), ['edgemq'])
  for (const [k, v] of [['NoNewPrivileges', 'yes'], ['ProtectSystem', 'strict'], ['ProtectHome', 'yes'], ['PrivateTmp', 'yes'], ['PrivateDevices', 'yes']]) {
    assert.equal(values(unit, k), [v], k)
  }
  assert.equal(values(unit, 'ReadWritePaths'), ['/var/lib/edgemq'])
  assert.is(values(unit, 'MemoryDenyWriteExecute').length, 0, 'V8 needs W+X pages')
})

test('takes MemoryMax and the Node heap flags from the board', () => {
  for (const board of BOARDS) {
    const text = renderBrokerUnit({ board, ports: [1883], readyTargets: ['127.0.0.1:1883'] })
    assert.equal(values(text, 'MemoryMax'), [`${board.memoryCapMiB}M`], board.name)
    const runtime = boardHeap(board)
    const exec = values(text, 'ExecStart')[0]
    assert.ok(exec.startsWith('/opt/edgemq/node/bin/node '), exec)
    assert.ok(exec.includes(`--max-old-space-size=${runtime.maxOldSpace} `), exec)
    assert.ok(exec.includes(`--max-semi-space-size=${runtime.maxSemiSpace} `), exec)
    assert.ok(exec.endsWith('/opt/edgemq/edgemq.mjs start -c /etc/edgemq/edgemq.yaml'), exec)
    assert.ok(runtime.maxOldSpace < board.memoryCapMiB, `${board.name}: heap must fit under MemoryMax`)
  }
  assert.equal(heapFlags(boardHeap(rpi)), ['--max-old-space-size=256', '--max-semi-space-size=4'])
  // A board without runtime settings gets the option table's defaults, as the broker does.
  assert.equal(boardHeap(getBoard('generic')), { maxOldSpace: 256, maxSemiSpace: 8 })
})

test('passes the no-re-exec switch and the board in the environment', () => {
  assert.ok(values(unit, 'Environment').includes('EDGEMQ_NO_REEXEC=1'))
  assert.ok(values(unit, 'Environment').includes('EDGEMQ_BOARD=rpi-4b'))
})

test('has no capability at all unless a listener port is below 1024', () => {
  assert.equal(capabilityLines([1883, 8883]), ['CapabilityBoundingSet=', 'AmbientCapabilities='])
  assert.equal(values(unit, 'CapabilityBoundingSet'), [''])
  const low = renderBrokerUnit({ board: rpi, ports: [443], readyTargets: ['127.0.0.1:443'] })
  assert.equal(values(low, 'CapabilityBoundingSet'), ['CAP_NET_BIND_SERVICE'])
  assert.equal(values(low, 'AmbientCapabilities'), ['CAP_NET_BIND_SERVICE'])
})

test('restarts on failure with a start limit, and waits for the listeners before turning active', () => {
  assert.equal(values(unit, 'Restart'), ['on-failure'])
  assert.equal(values(unit, 'StartLimitBurst'), ['5'])
  assert.equal(values(unit, 'ExecStartPost'), ['/opt/edgemq/node/bin/node /usr/lib/edgemq/wait-ready.mjs --timeout 60 127.0.0.1:1883'])
  assert.equal(values(unit, 'Requires'), ['edgemq-firstboot.service'])
})

test('the site drop-in replaces the readiness targets and adds the bind capability for a low port', () => {
  const { dropIn } = renderListenerFiles([{ name: 'lan', host: '0.0.0.0', port: 883 }, { name: 'v6', host: '::', port: 8883 }], { heap: { maxOldSpace: 100, maxSemiSpace: 2 } })
  assert.equal(values(dropIn, 'ExecStart'), ['', '/opt/edgemq/node/bin/node --max-old-space-size=100 --max-semi-space-size=2 /opt/edgemq/edgemq.mjs start -c /etc/edgemq/edgemq.yaml'])
  assert.equal(values(dropIn, 'ExecStartPost'), ['', '/opt/edgemq/node/bin/node /usr/lib/edgemq/wait-ready.mjs --timeout 60 127.0.0.1:883 [::1]:8883'])
  assert.equal(values(dropIn, 'CapabilityBoundingSet'), ['', 'CAP_NET_BIND_SERVICE'])
  assert.equal(verify({ 'edgemq.service': unit + '\n' + dropIn, 'edgemq-firstboot.service': renderFirstBootUnit() }), [])
})

test('Type=notify with a watchdog: NotifyAccess=all for the systemd-notify child, WatchdogSec set, restarted on failure', () => {
  assert.equal(values(unit, 'Type'), ['notify'])
  assert.equal(values(unit, 'NotifyAccess'), ['all'])
  assert.equal(values(unit, 'WatchdogSec'), ['30s'])
  assert.equal(values(unit, 'Restart'), ['on-failure'])
})

test('the default package: firewall keeps the loopback http listener closed to the network and names it', async () => {
  const { DEFAULT_LISTENERS } = await import('../../firmware-tools/lib/listener-files.ts')
  const files = renderListenerFiles(DEFAULT_LISTENERS)
  assert.ok(files.nftables.includes('listener "http" 127.0.0.1:9883: loopback only'), files.nftables)
  assert.not.match(files.nftables, /dport 9883/)
  assert.match(files.nftables, /policy drop/)
  assert.ok(files.dropIn.includes('127.0.0.1:9883'), 'the readiness check waits for the http listener too')
})

test.run()
