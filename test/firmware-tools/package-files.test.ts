import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { BOARDS, getBoard } from '../../src/config/boards.ts'
import { parseConfigText } from '../../src/config/config-file.ts'
import { resolveConfig } from '../../src/config/load-config.ts'
import { policyFromData } from '../../src/acl/yaml-acl.ts'
import { isEdgemqError } from '../../src/errors.ts'
import { renderDefaultAcl, renderDefaultConfig } from '../../firmware-tools/lib/default-config.ts'
import { renderControl, renderPostinst, renderPostrm, renderPrerm } from '../../firmware-tools/lib/deb-maintainer-scripts.ts'
import { renderFirstBootScript, renderWaitReadyScript } from '../../firmware-tools/lib/first-boot-script.ts'
import { buildManifest, parseManifest } from '../../firmware-tools/lib/manifest.ts'
import { flashRootfs } from '../../firmware-tools/lib/flash-rootfs.ts'
import { detectRootfsArch } from '../../firmware-tools/lib/rootfs-arch.ts'
import { debianArchOfElf, TARGET_ARCHES } from '../../firmware-tools/lib/target-arch.ts'
import { RUNTIME_PINS } from '../../firmware-tools/lib/node-runtime.ts'

const test = suite('package files')

/** The first 20 bytes of a little-endian ELF for a machine number. */
function elfHeader (machine: number): Buffer {
  const b = Buffer.alloc(64)
  b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0)
  b.writeUInt16LE(machine, 18)
  return b
}

function tempDir (): string { return mkdtempSync(join(tmpdir(), 'edgemq-pkg-')) }

test('the default config of every board loads as is: board pinned, loopback only, data in /var/lib/edgemq', async () => {
  for (const board of BOARDS) {
    const text = renderDefaultConfig(board)
    const { config } = await resolveConfig({ file: parseConfigText(text, 'edgemq.yaml') })
    assert.is(config.board, board.name)
    assert.equal(config.listeners.map((l) => [l.type, l.host, l.port]), [['tcp', '127.0.0.1', 1883], ['http', '127.0.0.1', 9883]])
    // the http listener reads the token made at first boot; health is open on loopback only
    assert.is(config.listeners[1].tokenFile, '/etc/edgemq/http-token')
    assert.is(config.listeners[1].openHealth, true)
    assert.is(config.persistence.path, '/var/lib/edgemq')
  }
})

test('the default ACL is valid for the broker and allows only the admin group', async () => {
  const data = parseConfigText(renderDefaultAcl(), 'acl.yaml').data as { groups: Record<string, string[]>, rules: Array<{ group: string }> }
  policyFromData(data, 'acl.yaml')
  assert.equal(data.groups, { admins: ['admin'] })
  assert.equal(data.rules, [{ group: 'admins', allow: 'readwrite', topic: '#' }])
})

test('maintainer and first-boot scripts are valid POSIX sh', () => {
  for (const [name, text] of [['postinst', renderPostinst()], ['prerm', renderPrerm()], ['postrm', renderPostrm()], ['firstboot', renderFirstBootScript()]]) {
    const r = spawnSync('sh', ['-n'], { input: text, encoding: 'utf8' })
    assert.is(r.status, 0, `${name}: ${r.stderr}`)
  }
  const check = spawnSync(process.execPath, ['--check', '--input-type=module'], { input: renderWaitReadyScript(), encoding: 'utf8' })
  assert.is(check.status, 0, check.stderr)
})

test('the maintainer scripts touch systemd only when it runs, and only purge removes data', () => {
  for (const text of [renderPostinst(), renderPrerm(), renderPostrm()]) {
    for (const line of text.split('\n').filter((l) => /systemctl (start|stop|try-restart|daemon-reload)/.test(l))) {
      assert.ok(/\[ -d \/run\/systemd\/system \]/.test(text), line)
    }
  }
  const postrm = renderPostrm()
  const removePart = postrm.slice(postrm.indexOf('remove)'), postrm.indexOf('purge)'))
  assert.not.match(removePart, /\/var\/lib\/edgemq|\/etc\/edgemq/)
  assert.match(postrm.slice(postrm.indexOf('purge)')), /rm -rf \/var\/lib\/edgemq \/etc\/edgemq/)
  // Upgrades never overwrite the site's files: postinst copies defaults only where none exist.
  assert.match(renderPostinst(), /if \[ ! -e \/etc\/edgemq\/edgemq\.yaml \]; then install/)
})

test('the first-boot script keeps secrets already there and writes the password for root only', () => {
  const s = renderFirstBootScript()
  assert.match(s, /if \[ ! -s \/etc\/edgemq\/tls\/server\.key \] \|\| \[ ! -s \/etc\/edgemq\/tls\/server\.crt \]/)
  assert.match(s, /chmod 0600 \/etc\/edgemq\/initial-admin-password/)
  assert.match(s, /chown root:root \/etc\/edgemq\/initial-admin-password/)
})

test('control names the arch, version and the openssl the first boot needs', () => {
  const c = renderControl({ version: '1.2.3', arch: 'arm64', installedSizeKiB: 100, board: 'rpi-4b' })
  assert.match(c, /^Architecture: arm64$/m)
  assert.match(c, /^Version: 1\.2\.3$/m)
  assert.match(c, /^Depends: .*openssl/m)
})

test('the manifest lists every file with its sha256 and reads back', async () => {
  const dir = tempDir()
  try {
    mkdirSync(join(dir, 'opt/edgemq'), { recursive: true })
    writeFileSync(join(dir, 'opt/edgemq/a.txt'), 'abc')
    writeFileSync(join(dir, 'opt/edgemq/MANIFEST.sha256'), 'old')
    const text = await buildManifest(dir, ['/opt/edgemq/MANIFEST.sha256'])
    assert.equal([...parseManifest(text)], [['/opt/edgemq/a.txt', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad']])
  } finally { rmSync(dir, { recursive: true, force: true }) }
})

test('reads the arch from ELF headers and from a rootfs', async () => {
  assert.is(debianArchOfElf(elfHeader(183)), 'arm64')
  assert.is(debianArchOfElf(elfHeader(40)), 'armhf')
  assert.is(debianArchOfElf(elfHeader(62)), 'amd64')
  assert.is(debianArchOfElf(Buffer.from('#!/bin/sh\n echo hello world')), undefined)
  const dir = tempDir()
  try {
    mkdirSync(join(dir, 'usr/bin'), { recursive: true })
    writeFileSync(join(dir, 'usr/bin/dpkg'), elfHeader(40))
    assert.is(await detectRootfsArch(dir), 'armhf')
  } finally { rmSync(dir, { recursive: true, force: true }) }
})

test('flash refuses a rootfs whose arch differs from the board, before touching it', async () => {
  const dir = tempDir()
  try {
    mkdirSync(join(dir, 'usr/bin'), { recursive: true })
    mkdirSync(join(dir, 'etc'))
    writeFileSync(join(dir, 'usr/bin/dpkg'), elfHeader(40))
    await flashRootfs({ rootfs: dir, board: 'rpi-4b', deb: '/nonexistent.deb' })
    assert.unreachable('flash accepted an armhf rootfs for an arm64 board')
  } catch (err) {
    assert.ok(isEdgemqError(err), String(err))
    assert.match((err as Error).message, /is armhf but board rpi-4b is arm64/)
  } finally { rmSync(dir, { recursive: true, force: true }) }
})

test('flash refuses a folder that is not a root filesystem', async () => {
  const dir = tempDir()
  try {
    await flashRootfs({ rootfs: dir, board: 'rpi-4b', deb: '/nonexistent.deb' })
    assert.unreachable()
  } catch (err) {
    assert.match((err as Error).message, /has no etc\//)
  } finally { rmSync(dir, { recursive: true, force: true }) }
})

test('every board arch has a pinned Node 20 runtime with a sha256', () => {
  for (const board of BOARDS) {
    const pin = RUNTIME_PINS[TARGET_ARCHES[board.arch].runtimePackage]
    assert.ok(pin !== undefined, board.name)
    assert.match(pin.version, /^20\./)
    assert.match(pin.sha256, /^[0-9a-f]{64}$/)
  }
  assert.is(getBoard('rpi-3b-plus').arch, 'armhf')
})

test.run()
