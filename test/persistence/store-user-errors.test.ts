// A user error never destroys data (issue 15): the built broker is started
// against stores it may not use (another user's store, a file as --data, a
// missing parent, a read-only mount, a full disk) and must refuse with the
// cause and the fix, and leave every byte, name and mode on disk as it was.
// Only verified corruption moves a store aside, and the log says so only
// after the move. Real files, real permissions (the broker runs as `nobody`),
// real mounts (a read-only bind mount, a small tmpfs).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { buildBundle, NOBODY, runCli, type BuiltBundle } from '../helpers/built-bundle.ts'
import { createRootLevel, listMovedAsideStores, openStore } from '../../src/persistence/open-store.ts'
import { createLogger } from '../../src/observability/logger.ts'
import { isEdgemqError, ERROR_CODES } from '../../src/errors.ts'

let bundle: BuiltBundle
let n = 0
const mounts: string[] = []

test.before(async () => { bundle = await buildBundle() })
test.after(async () => {
  for (const m of mounts.reverse()) spawnSync('umount', ['-l', m])
  await bundle.remove()
})

/** A fresh folder (0755) inside the bundle's temp folder. */
function fresh (): string {
  const d = join(bundle.dir, `case-${++n}`)
  mkdirSync(d, { mode: 0o755 })
  chmodSync(d, 0o755)
  return d
}

/** Every name, mode, owner and content hash under `root` (and `root` itself). */
function snapshot (root: string): string {
  const out: string[] = []
  const walk = (p: string): void => {
    const s = statSync(p)
    const rel = p.slice(root.length) || '.'
    if (s.isDirectory()) {
      out.push(`${rel} d ${(s.mode & 0o777).toString(8)} ${s.uid}`)
      for (const name of readdirSync(p).sort()) walk(join(p, name))
    } else {
      out.push(`${rel} f ${(s.mode & 0o777).toString(8)} ${s.uid} ${createHash('sha256').update(readFileSync(p)).digest('hex')}`)
    }
  }
  walk(root)
  return out.join('\n')
}

/** Starts the bundle once as root to create a store with a retained message in it; returns its path. */
async function makeStore (parent: string): Promise<string> {
  const store = join(parent, 'store')
  const run = await runCli(bundle.main, ['start', '--data', store, '--port', '0'])
  assert.ok(run.started, run.stderr)
  return store
}

function assertRefused (run: { code: number | null, stderr: string, started: boolean }, cause: RegExp, fix: RegExp): void {
  assert.is(run.started, false, `the broker must not start:\n${run.stderr}`)
  assert.is(run.code, 1, run.stderr)
  assert.match(run.stderr, cause)
  assert.match(run.stderr, fix)
  assert.not.match(run.stderr, /moved aside|EMPTY store|attempting repair/)
  assert.not.match(run.stderr, /\n\s+at /, 'no stack trace')
}

test('a store owned by another user is refused with the chown fix and left exactly as it was (it was moved aside)', async () => {
  const parent = fresh()
  chownSync(parent, NOBODY.uid, NOBODY.gid) // the service user owns /var/lib/edgemq ...
  const store = await makeStore(parent) // ... but someone ran the broker as root once
  const before = snapshot(parent)
  const run = await runCli(bundle.main, ['start', '--data', store, '--port', '0'], { user: NOBODY })
  assertRefused(run, /permission denied for nobody/, new RegExp(`chown -R nobody: ${store}`))
  assert.is(snapshot(parent), before, 'nothing on disk changed')
  assert.equal(await listMovedAsideStores(store), [])
})

test('a store whose LOCK alone belongs to another user is refused, not repaired', async () => {
  const parent = fresh()
  chownSync(parent, NOBODY.uid, NOBODY.gid)
  const store = await makeStore(parent)
  spawnSync('chown', ['-R', `${NOBODY.uid}:${NOBODY.gid}`, store])
  chownSync(join(store, 'LOCK'), 0, 0)
  const before = snapshot(parent)
  const run = await runCli(bundle.main, ['start', '--data', store, '--port', '0'], { user: NOBODY })
  assertRefused(run, /LOCK is not readable and writable/, /chown -R nobody:/)
  assert.is(snapshot(parent), before)
})

test('--data pointing at an ordinary file is refused and the file is neither renamed nor changed', async () => {
  const parent = fresh()
  const file = join(parent, 'notes.txt')
  writeFileSync(file, 'my notes, not a store\n')
  const before = snapshot(parent)
  const run = await runCli(bundle.main, ['start', '--data', file, '--port', '0'])
  assertRefused(run, /is a file, not a store folder/, /point persistence\.path \(--data\) at a folder/)
  assert.is(snapshot(parent), before)
})

test('a missing parent folder is refused and nothing is created', async () => {
  const parent = fresh()
  const before = snapshot(parent)
  const run = await runCli(bundle.main, ['start', '--data', join(parent, 'no/such/store'), '--port', '0'])
  assertRefused(run, /parent folder ".*no\/such" does not exist/, /mkdir -p/)
  assert.is(snapshot(parent), before)
})

test('a store on a read-only mount is refused and the log never claims a move', async () => {
  const parent = fresh()
  const store = await makeStore(parent)
  const ro = join(bundle.dir, `ro-${n}`)
  mkdirSync(ro)
  assert.is(spawnSync('mount', ['--bind', parent, ro]).status, 0)
  mounts.push(ro)
  assert.is(spawnSync('mount', ['-o', 'remount,bind,ro', ro]).status, 0)
  const before = snapshot(parent)
  const run = await runCli(bundle.main, ['start', '--data', join(ro, 'store'), '--port', '0'])
  assertRefused(run, /read-only file system/, /remount it read-write/)
  assert.is(snapshot(parent), before)
  assert.ok(existsSync(store))
})

test('a full disk refuses a new store and leaves nothing behind; an existing store is never moved aside', async () => {
  const mnt = join(bundle.dir, `full-${++n}`)
  mkdirSync(mnt)
  assert.is(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=512k,mode=0755', 'tmpfs', mnt]).status, 0)
  mounts.push(mnt)
  const store = await makeStore(mnt)
  spawnSync('dd', ['if=/dev/zero', `of=${join(mnt, 'filler')}`, 'bs=4k']) // until ENOSPC
  const fresh = await runCli(bundle.main, ['start', '--data', join(mnt, 'new-store'), '--port', '0'])
  assertRefused(fresh, /No space left on device/, /file system is full: free space/)
  assert.not.ok(existsSync(join(mnt, 'new-store')), 'the half-created store was removed')
  const before = snapshot(store)
  const again = await runCli(bundle.main, ['start', '--data', store, '--port', '0'])
  assert.not.match(again.stderr, /moved aside|EMPTY store|attempting repair/, again.stderr)
  if (!again.started) assertRefused(again, /No space left on device/, /free space/)
  assert.ok(existsSync(join(store, 'CURRENT')))
  assert.equal(await listMovedAsideStores(store), [])
  // LevelDB rotates its own text info log (LOG -> LOG.old) as it opens; the data files are untouched
  const data = (snap: string): string => snap.split('\n').filter((l) => !/^\/LOG/.test(l)).join('\n')
  if (!again.started) assert.is(data(snapshot(store)), data(before), again.stderr)
})

test('a new store is folder 0700 and files 0600 under umask 022; an open store warns', async () => {
  const parent = fresh()
  const old = process.umask(0o022)
  try {
    const store = join(parent, 'store')
    const run = await runCli(bundle.main, ['start', '--data', store, '--port', '0'])
    assert.ok(run.started, run.stderr)
    assert.is(statSync(store).mode & 0o777, 0o700)
    for (const f of readdirSync(store)) assert.is(statSync(join(store, f)).mode & 0o777, 0o600, f)
    chmodSync(store, 0o755)
    const again = await runCli(bundle.main, ['start', '--data', store, '--port', '0'])
    assert.ok(again.started, again.stderr)
    assert.match(again.stderr, /warn persistence: persistence\.path ".*" is readable by other users \(the folder is 0755\).*chmod -R go-rwx/)
  } finally {
    process.umask(old)
  }
})

test('a corrupt store that repair cannot save is moved aside, logged only after the move, and listed', async () => {
  const parent = fresh()
  const store = join(parent, 'store')
  let db = createRootLevel(store, { cacheSize: 1 << 20, writeBufferSize: 1 << 20 })
  await openStore(db, createLogger({ sink: () => {} }))
  await db.put(Buffer.from('kept'), Buffer.from('in the moved copy'))
  await db.close()
  writeFileSync(join(store, 'CURRENT'), 'MANIFEST-999999\n')
  const lines: string[] = []
  let repairRan = 0
  const failingRepair = async (): Promise<void> => {
    repairRan++
    assert.not.ok(lines.some((l) => l.includes('moved aside')), 'not logged before the move')
    throw Object.assign(new Error('Corruption: no meta-nnnnnn entry in descriptor'), { code: 'LEVEL_CORRUPTION' })
  }
  db = createRootLevel(store, { cacheSize: 1 << 20, writeBufferSize: 1 << 20 })
  const outcome = await openStore(db, createLogger({ sink: (l) => lines.push(l) }), () => new Date('2026-12-06T01:02:03.456Z'), failingRepair)
  await db.close()
  assert.is(repairRan, 1)
  assert.is(outcome.status, 'replaced')
  assert.is(outcome.movedTo, `${store}.corrupt-2026-12-06T01-02-03-456Z`)
  assert.ok(lines.some((l) => l.includes('STORE UNRECOVERABLE: moved aside') && l.includes(outcome.movedTo!)), lines.join('\n'))
  assert.equal(await listMovedAsideStores(store), [{ path: outcome.movedTo!, movedAt: '2026-12-06T01:02:03.456Z' }])
  assert.is(readFileSync(join(outcome.movedTo!, 'CURRENT'), 'utf8'), 'MANIFEST-999999\n', 'the moved copy is kept as it was')
})

test('a corrupt store that cannot be moved aside is refused and the log never says it moved', async () => {
  const parent = fresh()
  const store = join(parent, 'store')
  let db = createRootLevel(store, { cacheSize: 1 << 20, writeBufferSize: 1 << 20 })
  await openStore(db, createLogger({ sink: () => {} }))
  await db.close()
  writeFileSync(join(store, 'CURRENT'), 'MANIFEST-999999\n')
  const ro = join(bundle.dir, `ro-${++n}`)
  mkdirSync(ro)
  assert.is(spawnSync('mount', ['--bind', parent, ro]).status, 0)
  mounts.push(ro)
  const lines: string[] = []
  db = createRootLevel(join(ro, 'store'), { cacheSize: 1 << 20, writeBufferSize: 1 << 20 })
  // the rename fails (a read-only remount right after the failed repair)
  const repairThenReadOnly = async (): Promise<void> => {
    assert.is(spawnSync('mount', ['-o', 'remount,bind,ro', ro]).status, 0)
    throw Object.assign(new Error('Corruption: bad record'), { code: 'LEVEL_CORRUPTION' })
  }
  try {
    await openStore(db, createLogger({ sink: (l) => lines.push(l) }), () => new Date(), repairThenReadOnly)
    assert.unreachable('opened')
  } catch (err) {
    assert.ok(isEdgemqError(err, ERROR_CODES.PERSISTENCE_FAILED), String(err))
    assert.match((err as Error).message, /could not be moved aside.*nothing was changed/)
  }
  assert.not.ok(lines.some((l) => l.includes('moved aside')), lines.join('\n'))
  assert.equal(await listMovedAsideStores(store), [])
})

test.run()
