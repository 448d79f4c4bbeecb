// Seal/open throughput of every mode and of the at-rest value cipher, for the
// numbers in docs/envelope.md. Not part of the test suite (timing varies):
//   node --import tsx test/crypto/bench-envelope.ts [--seconds 1]
import { performance } from 'node:perf_hooks'
import { cpus } from 'node:os'
import nacl from 'tweetnacl'
import { boxSharedKey, ed25519Sign, ed25519Verify } from '../../src/crypto/curve-ops.ts'
import { createTopicSealer, createValueCipher, keygen, open, seal, type Key, type SealOptions } from '../../src/crypto/index.ts'

const seconds = Number(process.argv[process.argv.indexOf('--seconds') + 1] ?? 1) || 1
const shared = keygen('secretbox').secret
const sensor = keygen('box')
const cloud = keygen('box')
const signer = keygen('sign')
const pub = (p: { public?: Key }): Key => p.public as Key

/**
 * Operations per second of this process's CPU time (user + system), not wall
 * time: the build machine is shared, and CPU time is what other jobs steal
 * least. A gateway running only edgemq gets about these rates per core.
 */
function measure (fn: () => void): number {
  const warm = performance.now() + 300
  while (performance.now() < warm) fn() // let the JIT settle before timing
  let n = 0
  const c0 = process.cpuUsage()
  const end = performance.now() + seconds * 1000
  while (performance.now() < end) { for (let i = 0; i < 10; i++) fn(); n += 10 }
  const used = process.cpuUsage(c0)
  return n / ((used.user + used.system) / 1e6)
}

const rows: string[] = []
const row = (what: string, size: number, rate: number): void => {
  rows.push(`| ${what} | ${size} B | ${Math.round(rate).toLocaleString('en-US')} | ${(rate * size / 1e6).toFixed(2)} |`)
  process.stderr.write(`${rows[rows.length - 1]}\n`)
}
const modes: Array<[string, SealOptions, Key[]]> = [
  ['secretbox', { key: shared }, [shared]],
  ['box', { to: pub(cloud), from: sensor.secret }, [cloud.secret, pub(sensor)]],
  ['anonymous', { to: pub(cloud) }, [cloud.secret]],
  ['anonymous + Ed25519 signature', { to: pub(cloud), sign: signer.secret }, [cloud.secret, pub(signer)]]
]
for (const size of [64, 1024]) {
  const plain = new Uint8Array(size).fill(0x61)
  for (const [name, options, keys] of modes) {
    const env = seal(plain, options)
    row(`seal ${name}`, size, measure(() => seal(plain, options)))
    row(`open ${name}`, size, measure(() => open(env, { keys })))
  }
  const boxRule = createTopicSealer({ mode: 'box', secretKey: sensor.secret, recipientPublicKey: pub(cloud), senderPublicKeys: [pub(cloud)] })
  row('topic sealer seal, box', size, measure(() => boxRule.seal(Buffer.from(plain))))
  const vc = createValueCipher(shared.bytes)
  const sealed = vc.seal(plain)
  row('value cipher seal (at rest)', size, measure(() => vc.seal(plain)))
  row('value cipher open (at rest)', size, measure(() => vc.open(sealed)))
}
// Why the curve operations go through node:crypto (curve-ops.ts): the same bytes, per primitive.
const prim: string[] = []
const perOp = (what: string, rate: number): void => { prim.push(`| ${what} | ${Math.round(rate).toLocaleString('en-US')} |`) }
const a = nacl.box.keyPair(); const b = nacl.box.keyPair(); const sk = nacl.sign.keyPair(); const m = new Uint8Array(64)
const sig = nacl.sign.detached(m, sk.secretKey)
perOp('X25519 + HSalsa20, tweetnacl-js (nacl.box.before)', measure(() => nacl.box.before(b.publicKey, a.secretKey)))
perOp('X25519 + HSalsa20, node:crypto (uncached)', measure(() => boxSharedKey(a.secretKey, b.publicKey, { secret: false, peer: false })))
perOp('Ed25519 sign 64 B, tweetnacl-js', measure(() => nacl.sign.detached(m, sk.secretKey)))
perOp('Ed25519 sign 64 B, node:crypto', measure(() => ed25519Sign(m, sk.secretKey)))
perOp('Ed25519 verify 64 B, tweetnacl-js', measure(() => nacl.sign.detached.verify(m, sig, sk.publicKey)))
perOp('Ed25519 verify 64 B, node:crypto', measure(() => ed25519Verify(m, sig, sk.publicKey)))

console.log(`${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.version}, tweetnacl 1.0.3, one thread, ${seconds} s per row, rates per second of CPU time\n`)
console.log('| operation | payload | msgs/s | MB/s |\n|---|---|---|---|')
console.log(rows.join('\n'))
console.log('\n| primitive | ops/s |\n|---|---|')
console.log(prim.join('\n'))
