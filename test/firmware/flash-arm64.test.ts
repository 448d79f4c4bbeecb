// The slow end-to-end firmware test (npm run test:firmware; not in npm test):
// packs the rpi-4b (arm64) package, flashes it into an arm64 Debian rootfs
// made by debootstrap, runs first boot and the broker inside it under
// qemu-user-static exactly as the unit would (edgemq user, the unit's
// environment and command line), and talks to it from the host with
// mosquitto_pub/sub: publish, receive, restart, find the persistent session.
// Flashing again must upgrade in place and keep data and secrets.
// Prints the figures docs/deploy.md quotes (sizes, install time, time to listening).
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { flashRootfs, type FlashResult } from '../../firmware-tools/lib/flash-rootfs.ts'
import { INSTALL_PATHS as P } from '../../firmware-tools/lib/install-paths.ts'
import { packBoard, type PackResult } from '../../firmware-tools/lib/pack-board.ts'
import { requireTool } from '../helpers/broker-process.ts'
import { checkBinfmt, prepareRootfs, removeRootfs } from './debian-rootfs.ts'
import { freePort } from '../helpers/free-port.ts'

const ROOT = resolve(fileURLToPath(import.meta.url), '../../..')
const BOARD = 'rpi-4b'
const test = suite('firmware arm64')

interface State {
  work: string
  rootfs: string
  port: number
  pack?: PackResult
  flash?: FlashResult
  broker?: ChildProcess
  brokerLog: string[]
  password?: string
  figures: Record<string, string>
}
const state: State = { work: '', rootfs: '', port: 0, brokerLog: [], figures: {} }

function log (line: string): void { console.log(`  [firmware] ${line}`) }
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`
const mib = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MiB`


/** Directive values of a unit plus its drop-ins, with systemd's rule that an empty assignment resets the list. */
function unitDirectives (texts: string[]): Map<string, string[]> {
  const map = new Map<string, string[]>()
  for (const text of texts) {
    for (const line of text.split('\n')) {
      const m = /^([A-Za-z]+)=(.*)$/.exec(line)
      if (m === null) continue
      if (m[2] === '') { map.set(m[1], []); continue }
      map.set(m[1], [...(map.get(m[1]) ?? []), m[2]])
    }
  }
  return map
}

/** The unit as installed in the rootfs (unit file + site drop-in). */
function installedUnit (): Map<string, string[]> {
  const texts = [readFileSync(join(state.rootfs, P.brokerUnit), 'utf8')]
  if (existsSync(join(state.rootfs, P.siteDropIn))) texts.push(readFileSync(join(state.rootfs, P.siteDropIn), 'utf8'))
  return unitDirectives(texts)
}

function idOf (file: 'passwd' | 'group', name: string): number {
  const line = readFileSync(join(state.rootfs, 'etc', file), 'utf8').split('\n').find((l) => l.startsWith(`${name}:`))
  assert.ok(line !== undefined, `no ${name} in the rootfs ${file}`)
  return Number(line.split(':')[2])
}

/** Runs a unit command line inside the rootfs as the unit's user with only the unit's environment. */
function spawnAsUnit (commandLine: string, unit: Map<string, string[]>): ChildProcess {
  const user = unit.get('User')?.[0] ?? 'root'
  const group = unit.get('Group')?.[0] ?? 'root'
  const env = ['PATH=/usr/sbin:/usr/bin:/sbin:/bin', `HOME=${P.dataDir}`, ...(unit.get('Environment') ?? [])]
  const cwd = unit.get('WorkingDirectory')?.[0] ?? '/'
  const userspec = `${idOf('passwd', user)}:${idOf('group', group)}`
  return spawn('chroot', [`--userspec=${userspec}`, '--groups=', state.rootfs, '/usr/bin/env', '-i', ...env, '/bin/sh', '-c', `cd ${cwd} && exec ${commandLine}`], { stdio: ['ignore', 'pipe', 'pipe'] })
}

async function waitExit (child: ChildProcess, timeoutMs: number): Promise<number> {
  if (child.exitCode !== null) return child.exitCode
  return await new Promise((resolveExit) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); resolveExit(-1) }, timeoutMs)
    child.once('exit', (code) => { clearTimeout(timer); resolveExit(code ?? -1) })
  })
}

/** Starts the broker as the unit does and waits for the unit's own readiness check; returns ms to ready. */
async function startBroker (): Promise<number> {
  await killBroker()
  const unit = installedUnit()
  const t0 = performance.now()
  const broker = spawnAsUnit(unit.get('ExecStart')?.[0] ?? '', unit)
  state.broker = broker
  state.brokerLog = []
  broker.stdout?.on('data', (d: Buffer) => state.brokerLog.push(d.toString()))
  broker.stderr?.on('data', (d: Buffer) => state.brokerLog.push(d.toString()))
  for (const post of unit.get('ExecStartPost') ?? []) {
    const check = spawnAsUnit(post, unit)
    let out = ''
    check.stderr?.on('data', (d: Buffer) => { out += d.toString() })
    const code = await waitExit(check, 150_000)
    assert.is(code, 0, `readiness check failed: ${out}\nbroker log:\n${state.brokerLog.join('')}`)
  }
  assert.is(broker.exitCode, null, `broker exited: ${state.brokerLog.join('')}`)
  return performance.now() - t0
}

/** Ends a broker a failed step left running, so the next step starts clean. */
async function killBroker (): Promise<void> {
  const b = state.broker
  state.broker = undefined
  if (b === undefined || b.exitCode !== null) return
  b.kill('SIGKILL')
  await waitExit(b, 30_000)
}

async function stopBroker (): Promise<void> {
  const b = state.broker
  if (b === undefined || b.exitCode !== null) return
  b.kill('SIGTERM')
  const code = await waitExit(b, 60_000)
  state.broker = undefined
  assert.is(code, 0, `broker did not stop cleanly on SIGTERM (exit ${code}):\n${state.brokerLog.join('')}`)
}

function mosquitto (tool: 'mosquitto_pub' | 'mosquitto_sub', args: string[], timeoutMs = 60_000): string {
  const auth = state.password === undefined ? [] : ['-u', 'admin', '-P', state.password]
  const r = spawnSync(tool, ['-h', '127.0.0.1', '-p', String(state.port), '-V', 'mqttv311', ...auth, ...args], { encoding: 'utf8', timeout: timeoutMs })
  assert.is(r.status, 0, `${tool} ${args.join(' ')} failed (exit ${r.status}): ${r.stderr}\nbroker log:\n${state.brokerLog.join('')}`)
  return r.stdout
}

function sha256 (path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex')
}

function mountRuntimeFs (): void {
  execFileSync('mount', ['-t', 'proc', 'proc', join(state.rootfs, 'proc')])
  execFileSync('mount', ['--bind', '/dev', join(state.rootfs, 'dev')])
}

test.before(async () => {
  requireTool('mosquitto_pub', 'mosquitto-clients')
  requireTool('mosquitto_sub', 'mosquitto-clients')
  requireTool('dpkg-deb', 'dpkg')
  requireTool('debootstrap', 'debootstrap')
  requireTool('chroot', 'coreutils')
  checkBinfmt('arm64')
  if (process.getuid?.() !== 0) throw new Error('the firmware test runs as root (debootstrap, chroot, mount): run it with sudo')
  state.work = mkdtempSync(join(tmpdir(), 'edgemq-firmware-'))
  state.rootfs = join(state.work, 'rootfs')
  state.port = await freePort()
})

test.after(async () => {
  await killBroker()
  if (state.work !== '') await removeRootfs(state.work)
  log('figures:')
  for (const [k, v] of Object.entries(state.figures)) log(`  ${k}: ${v}`)
})

test('packs the arm64 package for rpi-4b: .deb and tarball with the arm64 runtime and addon only', async () => {
  state.pack = await packBoard({ repoRoot: ROOT, board: BOARD, outDir: join(state.work, 'out') })
  const p = state.pack
  state.figures['.deb size'] = mib(p.debBytes)
  state.figures['.tar.gz size'] = mib(p.tarballBytes)
  state.figures['installed size'] = mib(p.installedKiB * 1024)
  state.figures['pack time'] = seconds(p.ms)
  assert.match(p.deb, /edgemq_\d+\.\d+\.\d+_arm64\.deb$/)
  assert.match(p.tarball, new RegExp(`edgemq-\\d+\\.\\d+\\.\\d+-${BOARD}\\.tar\\.gz$`))
  const list = execFileSync('dpkg-deb', ['-c', p.deb]).toString()
  assert.match(list, /\.\/opt\/edgemq\/prebuilds\/linux-arm64\//)
  assert.not.match(list, /linux-x64|linux-arm\//)
  const file = execFileSync('sh', ['-c', 'dpkg-deb --fsys-tarfile "$1" 2>/dev/null | tar -xOf - ./opt/edgemq/node/bin/node 2>/dev/null | head -c 20 | od -An -tx1', 'sh', p.deb]).toString().replace(/\s+/g, '')
  assert.is(file.slice(36, 40), 'b700', 'the runtime is an aarch64 ELF (e_machine 183)')
  assert.is(p.info.board, BOARD)
  // The tarball holds the same tree, for systems without dpkg.
  const tarList = execFileSync('tar', ['-tzf', p.tarball]).toString().split('\n')
  for (const f of ['./opt/edgemq/edgemq.mjs', './opt/edgemq/node/bin/node', './opt/edgemq/MANIFEST.sha256', './usr/lib/edgemq/maintainer/postinst', './lib/systemd/system/edgemq.service']) {
    assert.ok(tarList.includes(f), `${f} in the tarball`)
  }
})

test('builds (or unpacks the cached) arm64 Debian rootfs', async () => {
  const r = await prepareRootfs('arm64', state.rootfs, log)
  state.figures['rootfs'] = `${r.cached ? 'from cache' : 'debootstrap + second stage'} in ${seconds(r.ms)}`
  assert.ok(existsSync(join(state.rootfs, 'usr/bin/dpkg')))
})

test('flashes the package with a site config: user, units enabled, and no secret in the image', async () => {
  const site = join(state.work, 'site.yaml')
  writeFileSync(site, `board: ${BOARD}
listeners:
  - { name: local, type: tcp, host: 127.0.0.1, port: ${state.port} }
persistence:
  path: ${P.dataDir}
auth:
  passwordFile: ${P.passwordFile}
  aclFile: ${P.aclFile}
`)
  state.flash = await flashRootfs({ rootfs: state.rootfs, board: BOARD, deb: state.pack?.deb ?? '', configFile: site, log })
  state.figures['flash (dpkg -i under qemu)'] = seconds(state.flash.installMs)
  assert.is(state.flash.previousVersion, undefined)
  idOf('passwd', 'edgemq')
  for (const unit of ['edgemq.service', 'edgemq-firstboot.service']) {
    // The link points at /lib/systemd/system inside the rootfs, so lstat it rather than follow it on the host.
    assert.ok(lstatSync(join(state.rootfs, 'etc/systemd/system/multi-user.target.wants', unit)).isSymbolicLink(), `${unit} enabled`)
  }
  for (const secret of [P.tlsKey, P.tlsCert, P.initialPassword, P.httpToken]) assert.not.ok(existsSync(join(state.rootfs, secret)), `${secret} must be made at first boot`)
  assert.is(readFileSync(join(state.rootfs, P.passwordFile), 'utf8'), '')
  assert.match(readFileSync(join(state.rootfs, P.siteDropIn), 'utf8'), new RegExp(`127\\.0\\.0\\.1:${state.port}`))
  const data = statSync(join(state.rootfs, P.dataDir))
  assert.is(data.uid, idOf('passwd', 'edgemq'))
  assert.is(data.mode & 0o777, 0o750)
  // From here on the rootfs runs programs: it gets /proc and /dev as on a booted gateway.
  mountRuntimeFs()
  // edgemq version names the build: version, commit and board, on the arm64 runtime.
  const v = spawnSync('chroot', [state.rootfs, P.cli, 'version'], { encoding: 'utf8', env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, timeout: 120_000 })
  assert.is(v.status, 0, v.stdout + v.stderr)
  assert.match(v.stdout, new RegExp(`${state.pack?.info.version}.*${state.pack?.info.commit}.*board ${BOARD}.*arm64`))
  // Every packaged file is as the manifest says.
  const r = spawnSync('chroot', [state.rootfs, 'sha256sum', '--quiet', '-c', P.manifest], { encoding: 'utf8' })
  assert.is(r.status, 0, r.stdout + r.stderr)
})

test('refuses to flash the arm64 package into an amd64 root filesystem', async () => {
  const fake = join(state.work, 'amd64-rootfs')
  execFileSync('mkdir', ['-p', join(fake, 'etc'), join(fake, 'usr/bin')])
  execFileSync('cp', ['/usr/bin/dpkg', join(fake, 'usr/bin/dpkg')])
  try {
    await flashRootfs({ rootfs: fake, board: BOARD, deb: state.pack?.deb ?? '' })
    assert.unreachable('flashed an amd64 rootfs')
  } catch (err) {
    assert.match((err as Error).message, /is amd64 but board rpi-4b is arm64/)
  }
  assert.not.ok(existsSync(join(fake, 'opt/edgemq')))
})

test('first boot makes the TLS key and certificate and a root-only admin password', async () => {
  const t0 = performance.now()
  const r = spawnSync('chroot', [state.rootfs, P.firstBoot], { encoding: 'utf8', env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, timeout: 300_000 })
  state.figures['first boot (key, cert, scrypt password) under qemu'] = seconds(performance.now() - t0)
  assert.is(r.status, 0, r.stdout + r.stderr)
  const pwFile = join(state.rootfs, P.initialPassword)
  const st = statSync(pwFile)
  assert.is(st.mode & 0o777, 0o600)
  assert.is(st.uid, 0)
  const text = readFileSync(pwFile, 'utf8')
  assert.not.match(text, /NOT SET/, text)
  state.password = /^password: (\S+)$/m.exec(text)?.[1]
  assert.ok(state.password !== undefined && state.password.length >= 20)
  assert.match(readFileSync(join(state.rootfs, P.passwordFile), 'utf8'), /^admin:/m)
  assert.is(statSync(join(state.rootfs, P.tlsKey)).mode & 0o777, 0o640)
  const cert = spawnSync('openssl', ['x509', '-noout', '-subject', '-in', join(state.rootfs, P.tlsCert)], { encoding: 'utf8' })
  assert.is(cert.status, 0, cert.stderr)
})

test('the broker starts as the unit would and a host client publishes and receives', async () => {
  const ms = await startBroker()
  state.figures['start to listening under qemu (cold)'] = seconds(ms)
  // Creates the persistent session (clean session off, QoS 1 subscription), then leaves.
  mosquitto('mosquitto_sub', ['-i', 'fw-sub', '-c', '-q', '1', '-t', 'fw/#', '-E'])
  mosquitto('mosquitto_pub', ['-i', 'fw-pub', '-q', '1', '-t', 'fw/a', '-m', 'hello from the host'])
  const got = mosquitto('mosquitto_sub', ['-i', 'fw-sub', '-c', '-q', '1', '-t', 'fw/#', '-C', '1', '-W', '60'])
  assert.is(got.trim(), 'hello from the host')
  const ps = spawnSync('ps', ['-o', 'user=,args=', '-p', String(state.broker?.pid)], { encoding: 'utf8' }).stdout
  assert.ok(!ps.startsWith('root'), `broker runs as ${ps}`)
})

test('after a restart the persistent session still has the message queued while it was offline', async () => {
  mosquitto('mosquitto_pub', ['-i', 'fw-pub', '-q', '1', '-t', 'fw/b', '-m', 'queued across a restart'])
  await stopBroker()
  const ms = await startBroker()
  state.figures['start to listening under qemu (restart, existing store)'] = seconds(ms)
  const got = mosquitto('mosquitto_sub', ['-i', 'fw-sub', '-c', '-q', '1', '-t', 'fw/#', '-C', '1', '-W', '60'])
  assert.is(got.trim(), 'queued across a restart')
  await stopBroker()
})

test('flashing again upgrades in place and keeps data, config and secrets', async () => {
  const keyBefore = sha256(join(state.rootfs, P.tlsKey))
  const pwBefore = readFileSync(join(state.rootfs, P.initialPassword), 'utf8')
  const configBefore = readFileSync(join(state.rootfs, P.config), 'utf8')
  const dataBefore = readdirSync(join(state.rootfs, P.dataDir)).sort()
  assert.ok(dataBefore.length > 1, `data dir has the store: ${dataBefore.join(', ')}`)
  const again = await flashRootfs({ rootfs: state.rootfs, board: BOARD, deb: state.pack?.deb ?? '', log })
  state.figures['flash again (upgrade in place)'] = seconds(again.installMs)
  assert.is(again.previousVersion, state.flash?.version)
  assert.is(sha256(join(state.rootfs, P.tlsKey)), keyBefore)
  assert.is(readFileSync(join(state.rootfs, P.initialPassword), 'utf8'), pwBefore)
  assert.is(readFileSync(join(state.rootfs, P.config), 'utf8'), configBefore)
  assert.equal(readdirSync(join(state.rootfs, P.dataDir)).sort(), dataBefore)
  // And the session survived the upgrade too.
  await startBroker()
  mosquitto('mosquitto_pub', ['-i', 'fw-pub', '-q', '1', '-t', 'fw/c', '-m', 'after upgrade'])
  assert.is(mosquitto('mosquitto_sub', ['-i', 'fw-sub', '-c', '-q', '1', '-t', 'fw/#', '-C', '1', '-W', '60']).trim(), 'after upgrade')
  await stopBroker()
})

test('dpkg remove keeps config and data; purge removes them and the user', async () => {
  await killBroker()
  const dpkg = (args: string[]): void => {
    const r = spawnSync('chroot', [state.rootfs, '/usr/bin/dpkg', ...args], { encoding: 'utf8', env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', DEBIAN_FRONTEND: 'noninteractive' } })
    assert.is(r.status, 0, r.stdout + r.stderr)
  }
  dpkg(['--remove', 'edgemq'])
  assert.ok(existsSync(join(state.rootfs, P.config)))
  assert.ok(existsSync(join(state.rootfs, P.dataDir)))
  assert.not.ok(existsSync(join(state.rootfs, P.bundle)))
  dpkg(['--purge', 'edgemq'])
  assert.not.ok(existsSync(join(state.rootfs, P.configDir)))
  assert.not.ok(existsSync(join(state.rootfs, P.dataDir)))
  assert.not.match(readFileSync(join(state.rootfs, 'etc/passwd'), 'utf8'), /^edgemq:/m)
})

test.run()
