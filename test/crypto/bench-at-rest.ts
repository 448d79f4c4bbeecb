// The cost of encryption at rest on LevelDB throughput: the same workload
// (batched puts of queued-message-sized values, then a full read back) with and
// without the value cipher, on a real LevelDB in a temp dir. For docs/envelope.md.
// Rates are per second of process CPU time (all threads, LevelDB's included),
// best of three rounds: the build machine is shared.
//   node --import tsx test/crypto/bench-at-rest.ts [--count 20000]
import { ClassicLevel } from 'classic-level'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createValueCipher, keygen, type ValueCipher } from '../../src/crypto/index.ts'

const count = Number(process.argv[process.argv.indexOf('--count') + 1] ?? 20_000) || 20_000
const BATCH = 100

async function runOnce (size: number, cipher: ValueCipher | undefined): Promise<{ write: number, read: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'edgemq-bench-at-rest-'))
  const db = new ClassicLevel<string, Uint8Array>(dir, { valueEncoding: 'view' })
  try {
    const value = new Uint8Array(size).fill(0x61)
    const c0 = process.cpuUsage()
    for (let i = 0; i < count; i += BATCH) {
      const ops = []
      for (let j = i; j < i + BATCH; j++) ops.push({ type: 'put' as const, key: `q:${String(j).padStart(10, '0')}`, value: cipher === undefined ? value : cipher.seal(value) })
      await db.batch(ops)
    }
    const c1 = process.cpuUsage()
    const writeMs = cpuMs(c0, c1)
    let n = 0
    for await (const v of db.values()) { if (cipher !== undefined) cipher.open(v); n++ }
    const readMs = cpuMs(c1, process.cpuUsage())
    if (n !== count) throw new Error(`read ${n} of ${count}`)
    return { write: count / (writeMs / 1000), read: count / (readMs / 1000) }
  } finally {
    await db.close()
    await rm(dir, { recursive: true, force: true })
  }
}

function cpuMs (a: NodeJS.CpuUsage, b: NodeJS.CpuUsage): number {
  return ((b.user - a.user) + (b.system - a.system)) / 1000
}

async function best (size: number, cipher: ValueCipher | undefined): Promise<{ write: number, read: number }> {
  const runs = [await runOnce(size, cipher), await runOnce(size, cipher), await runOnce(size, cipher)]
  return { write: Math.max(...runs.map((r) => r.write)), read: Math.max(...runs.map((r) => r.read)) }
}

const cipher = createValueCipher(keygen('secretbox').secret.bytes)
console.log(`${count} values, batches of ${BATCH}, LevelDB (classic-level) without fsync, values per CPU-second (best of 3)\n`)
console.log('| value size | write plain /s | write sealed /s | cost per value | read plain /s | read sealed /s | cost per value |\n|---|---|---|---|---|---|---|')
for (const size of [64, 256, 1024]) {
  await runOnce(size, undefined) // warm up
  const plain = await best(size, undefined)
  const sealed = await best(size, cipher)
  const pct = (a: number, b: number): string => `${Math.round((1 - b / a) * 100)}%`
  const f = (n: number): string => Math.round(n).toLocaleString('en-US')
  const us = (a: number, b: number): string => `+${(1e6 / b - 1e6 / a).toFixed(1)} µs`
  console.log(`| ${size} B | ${f(plain.write)} | ${f(sealed.write)} | ${us(plain.write, sealed.write)} (${pct(plain.write, sealed.write)}) | ${f(plain.read)} | ${f(sealed.read)} | ${us(plain.read, sealed.read)} (${pct(plain.read, sealed.read)}) |`)
}
