// Makes sure the Debian packages the tests need (test/system/packages.json, the
// one list) are installed before any test runs, so that `npm test` on a fresh
// machine either installs them or stops at once with the one command to run,
// instead of a run of failing tests.
//
//   node test/system/ensure-packages.mjs            check; install what is missing (root on Debian)
//   node test/system/ensure-packages.mjs --check    check only; exit 1 and print the command if missing
//   EDGEMQ_NO_APT=1                                  never install (you manage packages yourself):
//                                                    missing packages are listed, the tests go on, and
//                                                    each test whose tool is absent fails saying so
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

// EDGEMQ_SYSTEM_PACKAGES names another list (the tests of this script use one).
const LIST = process.env.EDGEMQ_SYSTEM_PACKAGES ?? fileURLToPath(new URL('./packages.json', import.meta.url))

/** The packages of the list, each { name, check, why }. */
export function readPackageList (path = LIST) {
  return JSON.parse(readFileSync(path, 'utf8')).packages
}

/** The names of the packages in `packages` that are not installed here. */
export function findMissing (packages) {
  const names = packages.map((p) => p.name)
  const query = spawnSync('dpkg-query', ['-W', '-f=${Package} ${db:Status-Abbrev}\n', ...names], { encoding: 'utf8' })
  if (query.error !== undefined) {
    // Not a Debian system: fall back to the file each package provides.
    return packages.filter((p) => !existsSync(p.check)).map((p) => p.name)
  }
  const installed = new Set(query.stdout.split('\n').filter((l) => /^\S+ ii/.test(l)).map((l) => l.split(' ')[0].split(':')[0]))
  return names.filter((n) => !installed.has(n))
}

/** The one command that installs `names`. */
export function installCommand (names) {
  return `apt-get update && apt-get install -y --no-install-recommends ${names.join(' ')}`
}

/**
 * Checks the list and installs what is missing when allowed and possible.
 * Returns { ok, message } and never throws for a missing package.
 */
export function ensurePackages ({ install = true, env = process.env, log = (line) => console.log(line) } = {}) {
  const packages = readPackageList()
  const missing = findMissing(packages)
  if (missing.length === 0) return { ok: true }
  const why = missing.map((n) => `  ${n}: ${packages.find((p) => p.name === n).why}`).join('\n')
  if (env.EDGEMQ_NO_APT === '1') {
    log(`system packages missing (EDGEMQ_NO_APT=1, not installing; the tests that need them will fail):\n${why}\n  install with: ${installCommand(missing)}`)
    return { ok: true }
  }
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0
  const hasApt = spawnSync('apt-get', ['--version']).error === undefined
  if (!install || !isRoot || !hasApt) {
    const how = !hasApt ? 'this is not a Debian system with apt-get; install the equivalents of' : (isRoot ? 'install them with' : 'run as root')
    return { ok: false, message: `the tests need system packages that are missing:\n${why}\n${how}:\n  ${isRoot || !hasApt ? '' : 'sudo sh -c '}${isRoot || !hasApt ? installCommand(missing) : `'${installCommand(missing)}'`}\n(or set EDGEMQ_NO_APT=1 to run the tests without them)` }
  }
  log(`installing the system packages the tests need (test/system/packages.json):\n${why}`)
  const aptEnv = { ...env, DEBIAN_FRONTEND: 'noninteractive' }
  const update = spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env: aptEnv })
  if (update.status !== 0) return { ok: false, message: `apt-get update failed (exit ${update.status}); install by hand: ${installCommand(missing)}` }
  const inst = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: ['ignore', 'ignore', 'inherit'], env: aptEnv })
  if (inst.status !== 0) return { ok: false, message: `apt-get install failed (exit ${inst.status}); install by hand: ${installCommand(missing)}` }
  // Debian's mosquitto package may start a daemon where an init system runs; the tests start their own.
  spawnSync('pkill', ['-x', 'mosquitto'])
  const still = findMissing(packages)
  if (still.length > 0) return { ok: false, message: `still missing after apt-get: ${still.join(' ')}` }
  log(`installed: ${missing.join(' ')}`)
  return { ok: true }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const result = ensurePackages({ install: !process.argv.includes('--check') })
  if (!result.ok) {
    console.error(`edgemq tests: ${result.message}`)
    process.exit(1)
  }
}
