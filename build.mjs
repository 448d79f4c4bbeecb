// Builds the single edgemq bundle (dist/edgemq.mjs) and the crypto library
// export (dist/crypto.mjs), and copies the LevelDB native addon beside them.
//
//   node build.mjs                 all gateway arches (linux-x64, linux-arm64, linux-arm)
//   node build.mjs --arch arm64    one arch only (firmware-tools/pack uses this)
//   node build.mjs --quiet         no size report
//   node build.mjs --outdir DIR    build somewhere else than dist/ (tests build in temp dirs)
//
// The bundle has no run-time dependency but the addon: `node dist/edgemq.mjs`
// works from a folder that has no node_modules.
import { build } from 'esbuild'
import { cp, mkdir, readFile, rm, stat, writeFile, readdir } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { silencePacketDebug } from './src/engine/silence-packet-debug.mjs'
import { hastenQueueReplay } from './src/engine/hasten-queue-replay.mjs'

const root = dirname(fileURLToPath(import.meta.url))
const require = createRequire(import.meta.url)
const args = process.argv.slice(2)
const quiet = args.includes('--quiet')
const archIndex = args.indexOf('--arch')
const ARCH_DIRS = { x64: 'linux-x64', amd64: 'linux-x64', arm64: 'linux-arm64', arm: 'linux-arm', armhf: 'linux-arm' }
const wantedArch = archIndex >= 0 ? args[archIndex + 1] : undefined
if (wantedArch !== undefined && !(wantedArch in ARCH_DIRS)) {
  console.error(`build: --arch must be one of ${Object.keys(ARCH_DIRS).join(', ')}: got "${wantedArch}"`)
  process.exit(2)
}
const prebuildDirs = wantedArch ? [ARCH_DIRS[wantedArch]] : ['linux-x64', 'linux-arm64', 'linux-arm']
const outIndex = args.indexOf('--outdir')
const outDir = outIndex >= 0 ? resolve(args[outIndex + 1]) : join(root, 'dist')

const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'))
const commit = readCommit()

// ESM bundles have no `require`, `__dirname` or `__filename`; the CommonJS
// packages inside (classic-level, node-gyp-build) need them.
const banner = [
  '#!/usr/bin/env node',
  "import { createRequire as __edgemqCreateRequire } from 'node:module';",
  "import { fileURLToPath as __edgemqFileURLToPath } from 'node:url';",
  "import { dirname as __edgemqDirname } from 'node:path';",
  'const require = __edgemqCreateRequire(import.meta.url);',
  'globalThis.__edgemqBundleDir = __edgemqDirname(__edgemqFileURLToPath(import.meta.url));'
].join('\n')

// classic-level loads its addon with node-gyp-build(__dirname); in the bundle the
// addon sits in dist/prebuilds/<platform>-<arch>/, beside the bundle itself.
const addonBesideBundle = {
  name: 'addon-beside-bundle',
  setup (b) {
    b.onLoad({ filter: /classic-level[\\/]binding\.js$/ }, () => ({
      contents: "module.exports = require('node-gyp-build')(globalThis.__edgemqBundleDir)",
      loader: 'js',
      resolveDir: dirname(require.resolve('classic-level/binding.js'))
    }))
  }
}

const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: true,
  sourcemap: true,
  legalComments: 'linked',
  logLevel: 'warning',
  define: {
    EDGEMQ_VERSION: JSON.stringify(pkg.version),
    EDGEMQ_COMMIT: JSON.stringify(commit)
  }
}

await rm(outDir, { recursive: true, force: true })
await mkdir(outDir, { recursive: true })
await build({
  ...common,
  entryPoints: { edgemq: join(root, 'src/cli/main.ts') },
  outExtension: { '.js': '.mjs' },
  outdir: outDir,
  banner: { js: banner },
  // silencePacketDebug: mqtt-packet's per-packet debug() calls become a no-op unless DEBUG enables them;
  // hastenQueueReplay: a reconnecting session's queue replay goes on in the same turn (one writev per window)
  plugins: [addonBesideBundle, silencePacketDebug, hastenQueueReplay]
})
if (await exists(join(root, 'src/crypto/index.ts'))) {
  // dist/crypto.mjs and its types dist/crypto.d.ts (src/crypto/build-crypto.mjs).
  const { buildCrypto } = await import('./src/crypto/build-crypto.mjs')
  await buildCrypto({ root, outDir, esbuildOptions: common })
}

const prebuildsSource = join(dirname(require.resolve('classic-level/package.json')), 'prebuilds')
for (const dir of prebuildDirs) {
  await cp(join(prebuildsSource, dir), join(outDir, 'prebuilds', dir), { recursive: true })
}
await writeFile(join(outDir, 'package.json'), JSON.stringify({ type: 'module', name: 'edgemq-dist', version: pkg.version }) + '\n')

if (!quiet) {
  const bundle = (await stat(join(outDir, 'edgemq.mjs'))).size
  let addons = 0
  for (const dir of prebuildDirs) {
    for (const file of await readdir(join(outDir, 'prebuilds', dir))) addons += (await stat(join(outDir, 'prebuilds', dir, file))).size
  }
  console.log(`dist/edgemq.mjs ${kib(bundle)} KiB (minified); LevelDB addon ${prebuildDirs.join(', ')}: ${kib(addons)} KiB; edgemq ${pkg.version} (${commit})`)
}

function kib (bytes) {
  return (bytes / 1024).toFixed(1)
}

async function exists (path) {
  try { await stat(path); return true } catch { return false }
}

function readCommit () {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim()
  } catch {
    return 'unknown'
  }
}
