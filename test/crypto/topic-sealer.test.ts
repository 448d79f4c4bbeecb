// The bridge's per-topic sealer and the config rows of a seal rule.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createTopicSealer, EnvelopeOpenError, isEdgemqError, keygen, loadTopicSealer, open, writeKeyFile, type Key } from '../../src/crypto/index.ts'
import { parseSealRules, SEAL_RULE_FIELDS } from '../../src/crypto/crypto-options.ts'

const test = suite<{ dir: string }>('topic sealer', { dir: '' })
test.before.each(async (ctx) => { ctx.dir = await mkdtemp(join(tmpdir(), 'edgemq-topicsealer-')) })
test.after.each(async (ctx) => { await rm(ctx.dir, { recursive: true, force: true }) })

const gateway = keygen('box')
const cloud = keygen('box')
const signer = keygen('sign')
const pub = (p: { public?: Key }): Key => p.public as Key
const payload = Buffer.from('{"t":21.5}')

test('anonymous rule: the gateway seals with only the cloud public key; the cloud opens; upstream bytes hold no plaintext', () => {
  const out = createTopicSealer({ mode: 'anonymous', recipientPublicKey: pub(cloud) })
  assert.ok(out.canSeal); assert.not.ok(out.canOpen)
  const sealed = out.seal(payload)
  assert.ok(Buffer.isBuffer(sealed))
  assert.not.ok(sealed.includes(payload))
  assert.equal(Buffer.from(open(sealed, { keys: [cloud.secret] }).plaintext), payload)
  const inbound = createTopicSealer({ mode: 'anonymous', secretKey: cloud.secret })
  assert.ok(inbound.canOpen); assert.not.ok(inbound.canSeal)
  assert.equal(inbound.open(sealed), payload)
})

test('box rule: seals from the gateway key to the peer and opens only from accepted senders', () => {
  const gw = createTopicSealer({ mode: 'box', secretKey: gateway.secret, recipientPublicKey: pub(cloud), senderPublicKeys: [pub(cloud)] })
  const peer = createTopicSealer({ mode: 'box', secretKey: cloud.secret, recipientPublicKey: pub(gateway), senderPublicKeys: [pub(gateway)] })
  assert.equal(peer.open(gw.seal(payload)), payload)
  assert.equal(gw.open(peer.seal(payload)), payload)
  // an anonymous envelope to the gateway key is refused by a box rule
  const anon = createTopicSealer({ mode: 'anonymous', recipientPublicKey: pub(gateway) }).seal(payload)
  assert.throws(() => gw.open(anon), (e: unknown) => e instanceof EnvelopeOpenError && e.reason === 'mode-not-allowed')
})

test('secretbox rule with signatures: unsigned or foreign-signed inbound payloads are refused', () => {
  const shared = keygen('secretbox').secret
  const rule = createTopicSealer({ mode: 'secretbox', sharedKey: shared, signKey: signer.secret, verifyKeys: [pub(signer)] })
  assert.equal(rule.open(rule.seal(payload)), payload)
  const unsigned = createTopicSealer({ mode: 'secretbox', sharedKey: shared }).seal(payload)
  assert.throws(() => rule.open(unsigned), (e: unknown) => e instanceof EnvelopeOpenError && e.reason === 'signature-required')
})

test('open throws CRYPTO_OPEN_FAILED for plaintext, tampering and wrong keys, never returning bytes', () => {
  const rule = createTopicSealer({ mode: 'anonymous', recipientPublicKey: pub(cloud), secretKey: cloud.secret })
  const sealed = rule.seal(payload)
  const bad = Buffer.from(sealed); bad[bad.length - 1] ^= 1
  for (const input of [payload, bad, sealed.subarray(0, 30), Buffer.alloc(0), createTopicSealer({ mode: 'anonymous', recipientPublicKey: pub(gateway) }).seal(payload)]) {
    assert.throws(() => rule.open(input), (e: unknown) => isEdgemqError(e, 'EDGEMQ_ERR_CRYPTO_OPEN_FAILED'))
  }
  const sealOnly = createTopicSealer({ mode: 'anonymous', recipientPublicKey: pub(cloud) })
  assert.throws(() => sealOnly.open(sealed), (e: unknown) => isEdgemqError(e, 'EDGEMQ_ERR_CRYPTO_OPEN_FAILED') && (e as Error).message.includes('no key to open'))
})

test('a rule with keys for neither direction, or keys of the wrong type, is refused at creation', () => {
  const invalid = (fn: () => unknown, text: string): void => assert.throws(fn, (e: unknown) => isEdgemqError(e, 'EDGEMQ_ERR_CRYPTO_INVALID') && (e as Error).message.includes(text))
  invalid(() => createTopicSealer({ mode: 'secretbox' }), 'needs keyFile')
  invalid(() => createTopicSealer({ mode: 'box', secretKey: gateway.secret }), 'mode box needs')
  invalid(() => createTopicSealer({ mode: 'anonymous' }), 'mode anonymous needs')
  invalid(() => createTopicSealer({ mode: 'anonymous', recipientPublicKey: cloud.secret }), 'must be a box-public key')
  invalid(() => createTopicSealer({ mode: 'nope' as 'box' }), 'mode must be')
  const openOnly = createTopicSealer({ mode: 'anonymous', secretKey: cloud.secret })
  invalid(() => openOnly.seal(payload), 'no key to seal')
})

test('loadTopicSealer reads the key files of a config rule', async ({ dir }) => {
  await writeKeyFile(join(dir, 'cloud.pub'), pub(cloud))
  await writeKeyFile(join(dir, 'cloud.key'), cloud.secret)
  const out = await loadTopicSealer({ topics: ['sensors/#'], mode: 'anonymous', recipientPublicKeyFile: join(dir, 'cloud.pub') })
  const back = await loadTopicSealer({ topics: ['sensors/#'], mode: 'anonymous', secretKeyFile: join(dir, 'cloud.key') })
  assert.equal(back.open(out.seal(payload)), payload)
  let err: unknown
  try { await loadTopicSealer({ topics: ['x'], mode: 'anonymous', recipientPublicKeyFile: join(dir, 'cloud.key') }) } catch (e) { err = e }
  assert.ok(isEdgemqError(err, 'EDGEMQ_ERR_CRYPTO_INVALID') && err.message.includes('expected box-public'), String(err))
})

test('parseSealRules applies defaults and checks each mode\'s key files, listing every problem with where', () => {
  const at = (i: number, f?: string): string => `site.yaml:${10 + i}${f === undefined ? '' : ` ${f}`}`
  const rules = parseSealRules([{ topics: ['sensors/#'], recipientPublicKeyFile: '/k/cloud.pub' }], 'bridges[0].seal', at)
  assert.is(rules[0].mode, 'anonymous')
  assert.is(rules[0].maxBytes, 1024 * 1024)
  let err: unknown
  try {
    parseSealRules([
      { topics: ['a/#'], mode: 'secretbox' },
      { topics: [], mode: 'box', keyFile: '/k' },
      { mode: 'anonymous', recipientPublicKeyFile: '/p', senderPublicKeyFiles: ['/s'] },
      { topics: ['b'], mode: 'quantum' },
      { topics: ['c'], recipientPublicKeyFile: '/p', recipentPublicKeyFile: '/typo' }
    ], 'bridges[0].seal', at)
  } catch (e) { err = e }
  assert.ok(isEdgemqError(err, 'EDGEMQ_ERR_CONFIG_INVALID'), String(err))
  const details = (err as { problems: readonly string[] }).problems.join('\n')
  for (const want of ['bridges[0].seal[0] (mode secretbox) needs keyFile', 'site.yaml:10', 'bridges[0].seal[1].topics must be a non-empty list',
    'does not use keyFile', 'needs secretKeyFile', 'bridges[0].seal[2] needs topics', 'does not use senderPublicKeyFiles',
    'bridges[0].seal[3].mode must be one of anonymous, box, secretbox', 'unknown key bridges[0].seal[4].recipentPublicKeyFile']) {
    assert.ok(details.includes(want), `missing "${want}" in:\n${details}`)
  }
  assert.throws(() => parseSealRules({}, 'bridges[0].seal', at), (e: unknown) => isEdgemqError(e, 'EDGEMQ_ERR_CONFIG_INVALID'))
})

test('every seal rule field has a doc line and a reason', () => {
  for (const f of SEAL_RULE_FIELDS) {
    assert.ok(f.doc.length > 10 && f.reason.length > 5, f.key)
  }
})

test.run()
