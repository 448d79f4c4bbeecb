// Seal/open throughput of every mode and of the at-rest value cipher, for the
// numbers in docs/envelope.md. Not part of the test suite (timing varies):
//   node --import tsx test/crypto/bench-envelope.ts [--seconds 1]
import { performance } from 'node:perf_hooks'
import { cpus } from 'node:os'
import { createTopicSealer, createValueCipher, keygen, open, seal, type Key, type SealOptions } from '../../src/crypto/index.ts'

const seconds = Number(process.argv[process.argv.indexOf('--seconds') + 1] ?? 1) || 1
const shared = keygen('secretbox').secret
const sensor = keygen('box')
const cloud = keygen('box')
const signer = keygen('sign')
const pub = (p: { public?: Key }): Key => p.public as Key

function measure (fn: () => void): number {
  const warm = performance.now() + 300
  while (performance.now() < warm) fn() // let the JIT settle before timing
  let n = 0
  const t0 = performance.now()
  const end = t0 + seconds * 1000
  while (performance.now() < end) { for (let i = 0; i < 10; i++) fn(); n += 10 }
  return n / ((performance.now() - t0) / 1000)
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
console.log(`${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.version}, tweetnacl 1.0.3, one thread, ${seconds} s per row\n`)
console.log('| operation | payload | msgs/s | MB/s |\n|---|---|---|---|')
console.log(rows.join('\n'))
