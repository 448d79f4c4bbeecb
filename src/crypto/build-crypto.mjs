// Builds the `edgemq/crypto` library export: dist/crypto.mjs (esbuild bundle,
// tweetnacl inside) and dist/crypto.d.ts (tsc declarations of src/crypto).
// build.mjs calls it; test/crypto/build.test.ts calls it into a temp folder
// so the test never races another build over dist/.
import { build } from 'esbuild'
import { execFileSync } from 'node:child_process'
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** Bundles src/crypto/index.ts to <outDir>/crypto.mjs and writes <outDir>/crypto.d.ts (+ <outDir>/types/). */
export async function buildCrypto ({ root, outDir, esbuildOptions = {} }) {
  await build({
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
    ...esbuildOptions,
    // tweetnacl (CommonJS) finds its PRNG with require('crypto'); an ES module
    // has no require, and without one nacl.randomBytes throws "no PRNG".
    banner: { js: "import { createRequire as __edgemqCryptoRequire } from 'node:module';\nconst require = __edgemqCryptoRequire(import.meta.url);" },
    entryPoints: { crypto: join(root, 'src/crypto/index.ts') },
    outExtension: { '.js': '.mjs' },
    outdir: outDir
  })
  // Declarations: tsc over the crypto entry only (the files it imports), into a
  // temp folder; the source imports end in .ts, which a .d.ts consumer cannot
  // resolve, so they are rewritten to .js (resolving to the .d.ts beside them).
  const tmp = await mkdtemp(join(tmpdir(), 'edgemq-crypto-dts-'))
  try {
    execFileSync(process.execPath, [
      join(root, 'node_modules/typescript/bin/tsc'), join(root, 'src/crypto/index.ts'),
      '--declaration', '--emitDeclarationOnly', '--outDir', tmp, '--rootDir', join(root, 'src'),
      '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--strict',
      '--skipLibCheck', '--esModuleInterop', '--allowImportingTsExtensions', '--types', 'node'
    ], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
    for (const file of await listFiles(tmp)) {
      const text = await readFile(file, 'utf8')
      await writeFile(file, text.replace(/(['"])(\.{1,2}\/[^'"]+)\.ts\1/g, '$1$2.js$1'))
    }
    await rm(join(outDir, 'types'), { recursive: true, force: true })
    await cp(tmp, join(outDir, 'types'), { recursive: true })
  } finally {
    await rm(tmp, { recursive: true, force: true })
  }
  await writeFile(join(outDir, 'crypto.d.ts'), "// Types of edgemq/crypto (docs/envelope.md).\nexport * from './types/crypto/index.js'\n")
}

async function listFiles (dir) {
  const out = []
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...await listFiles(path))
    else out.push(path)
  }
  return out
}
