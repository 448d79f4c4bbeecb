// A seeded raw-packet mutation fuzzer against the edgemq process, over every
// client-to-server packet type of MQTT 3.1.1 and 5.0 and every MQTT 5.0
// property (test/conformance/packet-corpus.ts). Valid packets are mutated two
// ways:
//   - structured: a property repeated that may appear once, a property that
//     the packet may not carry, a property value cut short, a property length
//     past the packet, ill-formed UTF-8 or U+0000 in a string, reserved
//     fixed-header flags, a protocol-error value (0 where 0 is forbidden).
//     The input is known to be malformed or a protocol error, so the broker
//     MUST close that connection [MQTT-4.13.1-1], and where it says why (a v5
//     CONNACK or DISCONNECT) the reason code must be the one the spec names:
//     0x81 malformed, 0x82 protocol error (MQTT 5.0 §2.2.2.2, §4.13).
//   - random: bit flips, byte changes, insertions, truncation, a wrong
//     Remaining Length. The result may still be valid, so only liveness is
//     asserted: a close, or a connection that still answers PINGREQ; and a
//     DISCONNECT, if sent, carries a reason code >= 0x80.
// Always: the process never dies, no connection is left stuck (closed or
// answering within a bound), and a bystander client keeps working.
//
// Time-bounded: EDGEMQ_FUZZ_MS (default 20000 in the suite; `npm run fuzz`
// runs 5 minutes), EDGEMQ_FUZZ_SEED (default: a fresh one, printed), and
// EDGEMQ_FUZZ_CASE=<n> replays one case. A failure prints the seed, the case
// number and the input bytes, shrunk to the fewest extra properties that still fail.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { connect, type Socket } from 'node:net'
import mqttPacket from 'mqtt-packet'
import { startBrokerProcess, type BrokerProcessHandle } from '../helpers/broker-process.ts'
import { RawMqtt } from '../helpers/raw-mqtt.ts'
import { connectPrefix, encodeProperty, packet, propertyBlock, PROPERTIES, V4_PACKETS, V5_BUILDERS, validPropertyIds, vbi, type Kind } from './packet-corpus.ts'

const BUDGET_MS = Number(process.env.EDGEMQ_FUZZ_MS ?? 20_000)
const SEED = Number(process.env.EDGEMQ_FUZZ_SEED ?? (Date.now() % 1_000_000))
const ONE_CASE = process.env.EDGEMQ_FUZZ_CASE === undefined ? undefined : Number(process.env.EDGEMQ_FUZZ_CASE)
const PARALLEL = 12
/** A connection that neither closes nor answers PINGREQ within this is stuck (keepalive 2 s: the broker must drop it by 3 s). */
const STUCK_MS = 6000
const MALFORMED = 0x81
const PROTOCOL_ERROR = 0x82

/** mulberry32: a small deterministic PRNG, so a case can be replayed from (seed, case number). */
function prng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** One fuzz case: how it was made (so it can be rebuilt with fewer properties) and its bytes. */
interface FuzzCase {
  n: number
  v: 4 | 5
  base: string
  mutation: string
  /** Reason codes the broker may give (empty for 3.1.1: it must only close); undefined = a random mutation, liveness only. */
  expect?: number[]
  /** The valid properties kept in the packet (v5 structured cases), for shrinking. */
  props: number[]
  afterConnect: boolean
  bytes: Buffer
  rebuild?: (props: number[]) => Buffer
}

const pick = <T>(rnd: () => number, xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]

/** A property the packet may not carry (encoded correctly). */
function illegalFor (kind: Kind, rnd: () => number): number {
  const ok = new Set(PROPERTIES.filter((p) => p.in.includes(kind)).map((p) => p.id))
  return pick(rnd, PROPERTIES.filter((p) => !ok.has(p.id)).map((p) => p.id))
}

/** Builds a v5 structured case from its base, its mutation and the valid properties to keep. */
function buildV5 (base: string, mutation: string, keep: number[], rnd: () => number, clientId: string): { bytes: Buffer, expect: number[] } | undefined {
  const b = V5_BUILDERS[base]
  const valid = keep.map((id) => encodeProperty(id))
  const wrap = (props: Buffer): Buffer => b.kind === 'will' ? b.build(props, propertyBlock([]), clientId) : b.build(props, undefined, clientId)
  switch (mutation) {
    case 'duplicate-property': {
      const once = keep.filter((id) => id !== 0x26)
      if (once.length === 0) return undefined
      const dup = pick(rnd, once)
      // "It is a Protocol Error to include <property> more than once" (each property's clause in §3).
      return { bytes: wrap(propertyBlock([...valid, encodeProperty(dup)])), expect: [PROTOCOL_ERROR] }
    }
    case 'illegal-property': {
      if (b.kind === 'pingreq' || b.kind === 'pingresp') return undefined
      // An identifier not valid for the packet type is a Malformed Packet (§2.2.2.2); a Subscription
      // Identifier in a client PUBLISH [MQTT-3.3.4-6] and AUTH data without a method are Protocol Errors.
      return { bytes: wrap(propertyBlock([...valid, encodeProperty(illegalFor(b.kind, rnd))])), expect: [MALFORMED, PROTOCOL_ERROR] }
    }
    case 'property-cut': {
      if (keep.length === 0) return undefined
      const id = pick(rnd, keep)
      const last = encodeProperty(id)
      const cut = last.subarray(0, 1 + Math.floor(rnd() * (last.length - 1)))
      if (cut.length === last.length) return undefined
      // The cut property replaces its whole copy, so the packet is malformed and nothing else (not also a repeat).
      return { bytes: wrap(propertyBlock([...valid.filter((_, i) => keep[i] !== id || id === 0x26), cut])), expect: [MALFORMED] }
    }
    case 'property-length-past-end': {
      const block = Buffer.concat(valid)
      const full = wrap(Buffer.concat([vbi(block.length), block]))
      // Rewrite the property length to claim more bytes than the packet has left.
      const broken = wrap(Buffer.concat([vbi(block.length + 64 + Math.floor(rnd() * 64)), block]))
      return broken.length === full.length || b.kind === 'pingreq' ? undefined : { bytes: broken, expect: [MALFORMED] }
    }
    case 'bad-utf8': {
      const strings = keep.filter((id) => ['str', 'pair'].includes(PROPERTIES.find((p) => p.id === id)!.type))
      if (strings.length === 0) return undefined
      const id = pick(rnd, strings)
      const bad = pick(rnd, [Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0x00]), Buffer.from([0xc0, 0x80]), Buffer.from([0xff])])
      const spec = PROPERTIES.find((p) => p.id === id)!
      const raw = spec.type === 'pair'
        ? Buffer.concat([vbi(id), lenPrefixed(Buffer.concat([Buffer.from('k'), bad])), lenPrefixed(Buffer.from('v'))])
        : Buffer.concat([vbi(id), lenPrefixed(Buffer.concat([Buffer.from('x'), bad]))])
      // Ill-formed UTF-8 or U+0000 in a UTF-8 string is a Malformed Packet [MQTT-1.5.4-1] [MQTT-1.5.4-2].
      return { bytes: wrap(propertyBlock([...valid.filter((_, i) => keep[i] !== id), raw])), expect: [MALFORMED] }
    }
    case 'reserved-flags': {
      const bytes = wrap(propertyBlock(valid))
      if ((bytes[0] & 0xf0) === 0x30) return undefined // PUBLISH flags are not reserved
      const flipped = Buffer.from(bytes)
      flipped[0] = (bytes[0] & 0xf0) | ((bytes[0] & 0x0f) ^ (1 + Math.floor(rnd() * 15)))
      return { bytes: flipped, expect: [MALFORMED] } // [MQTT-2.1.3-1]
    }
    case 'protocol-error-value': {
      const choices: Array<[number, number]> = []
      const has = (id: number): boolean => PROPERTIES.find((p) => p.id === id)!.in.includes(b.kind)
      if (has(0x21)) choices.push([0x21, 0]) // Receive Maximum 0
      if (has(0x27)) choices.push([0x27, 0]) // Maximum Packet Size 0
      if (has(0x17)) choices.push([0x17, 2]) // Request Problem Information other than 0/1
      if (has(0x19)) choices.push([0x19, 2]) // Request Response Information other than 0/1
      if (has(0x0b)) choices.push([0x0b, 0]) // Subscription Identifier 0
      if (choices.length === 0) return undefined
      const [id, value] = pick(rnd, choices)
      return { bytes: wrap(propertyBlock([...valid.filter((_, i) => keep[i] !== id), encodeProperty(id, value)])), expect: [PROTOCOL_ERROR] }
    }
  }
  return undefined
}

const lenPrefixed = (b: Buffer): Buffer => Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b])

/** A random byte-level mutation (the result may still be valid). */
function mutateBytes (bytes: Buffer, rnd: () => number): { bytes: Buffer, how: string } {
  const out = Buffer.from(bytes)
  const pos = (): number => Math.floor(rnd() * out.length)
  switch (Math.floor(rnd() * 6)) {
    case 0: { const i = pos(); out[i] ^= 1 << Math.floor(rnd() * 8); return { bytes: out, how: `bit-flip@${i}` } }
    case 1: { const i = pos(); out[i] = Math.floor(rnd() * 256); return { bytes: out, how: `byte@${i}` } }
    case 2: { const k = Math.max(1, pos()); return { bytes: out.subarray(0, k), how: `truncate@${k}` } }
    case 3: { const i = pos(); return { bytes: Buffer.concat([out.subarray(0, i), Buffer.from([Math.floor(rnd() * 256)]), out.subarray(i)]), how: `insert@${i}` } }
    case 4: { out[1] = Math.floor(rnd() * 256); return { bytes: out, how: 'remaining-length' } }
    default: { const k = 1 + Math.floor(rnd() * 4); for (let j = 0; j < k; j++) { const i = pos(); out[i] ^= Math.floor(rnd() * 256) } return { bytes: out, how: `xor-${k}` } }
  }
}

/** Packets a client may not send here at all (server-only, or AUTH without enhanced auth): either reason code fits. */
const NEVER_FROM_A_CLIENT: Kind[] = ['connack', 'suback', 'unsuback', 'pingresp', 'auth']

const STRUCTURED = ['duplicate-property', 'illegal-property', 'property-cut', 'property-length-past-end', 'bad-utf8', 'reserved-flags', 'protocol-error-value']

/** Case n of a run: deterministic in (SEED, n). */
function makeCase (n: number): FuzzCase {
  const rnd = prng(SEED * 7919 + n)
  for (;;) {
    const structured = rnd() < 0.6
    if (rnd() < 0.25) {
      const base = pick(rnd, Object.keys(V4_PACKETS))
      const p = V4_PACKETS[base]
      const whole = typeof p.bytes === 'function' ? p.bytes(`fz-${SEED}-${n}`) : p.bytes
      if (structured && (whole[0] & 0xf0) !== 0x30 && base !== 'disconnect') {
        // Reserved fixed-header flags on a 3.1.1 packet: the server MUST close [MQTT-2.2.2-2].
        const bytes = Buffer.from(whole)
        bytes[0] = (whole[0] & 0xf0) | ((whole[0] & 0x0f) ^ (1 + Math.floor(rnd() * 15)))
        return { n, v: 4, base, mutation: 'reserved-flags', expect: [], props: [], afterConnect: p.afterConnect, bytes }
      }
      const m = mutateBytes(whole, rnd)
      return { n, v: 4, base, mutation: m.how, props: [], afterConnect: p.afterConnect, bytes: m.bytes }
    }
    const base = pick(rnd, Object.keys(V5_BUILDERS))
    const b = V5_BUILDERS[base]
    const all = validPropertyIds(b.kind)
    const keep = all.filter(() => rnd() < 0.7)
    if (structured) {
      const mutation = pick(rnd, STRUCTURED)
      const seedForRebuild = SEED * 7919 + n + 1
      const built = buildV5(base, mutation, keep, prng(seedForRebuild), `fz-${SEED}-${n}`)
      if (built === undefined) continue
      return {
        n, v: 5, base, mutation, expect: NEVER_FROM_A_CLIENT.includes(b.kind) ? [MALFORMED, PROTOCOL_ERROR] : built.expect, props: keep, afterConnect: b.afterConnect, bytes: built.bytes,
        rebuild: (props) => buildV5(base, mutation, props, prng(seedForRebuild), `fz-${SEED}-${n}-s${props.length}`)?.bytes ?? Buffer.alloc(0)
      }
    }
    const props = propertyBlock(keep.map((id) => encodeProperty(id)))
    const whole = b.kind === 'will' ? b.build(props, propertyBlock([]), `fz-${SEED}-${n}`) : b.build(props, undefined, `fz-${SEED}-${n}`)
    const m = mutateBytes(whole, rnd)
    return { n, v: 5, base, mutation: m.how, props: keep, afterConnect: b.afterConnect, bytes: m.bytes }
  }
}

/** What one case did to its connection. */
interface Outcome { closed: boolean, answeredPing: boolean, reasons: number[], packets: string[], parseError?: string }

/** Sends one case on a fresh connection and watches it until it is closed or proven alive. */
async function runCase (port: number, c: FuzzCase): Promise<Outcome> {
  return await new Promise((resolve) => {
    const out: Outcome = { closed: false, answeredPing: false, reasons: [], packets: [] }
    const parser = mqttPacket.parser({ protocolVersion: c.v })
    let connected = !c.afterConnect
    let sentPing = false
    let timer: NodeJS.Timeout | undefined
    let s: Socket
    const finish = (): void => { clearTimeout(timer); s.destroy(); resolve(out) }
    const sendCase = (): void => {
      s.write(c.bytes)
      // Quiet for a while: probe with PINGREQ (it may also complete a truncated packet; then the broker judges that).
      timer = setTimeout(() => { sentPing = true; s.write(Buffer.from([0xc0, 0x00])); timer = setTimeout(finish, STUCK_MS) }, 400)
    }
    parser.on('packet', (p: Record<string, any>) => {
      if (!connected && p.cmd === 'connack') { connected = true; sendCase(); return }
      out.packets.push(p.cmd as string)
      if ((p.cmd === 'disconnect' || p.cmd === 'connack') && typeof p.reasonCode === 'number' && p.reasonCode !== 0) out.reasons.push(p.reasonCode)
      if (p.cmd === 'connack' && typeof p.returnCode === 'number' && p.returnCode !== 0) out.reasons.push(p.returnCode)
      if (p.cmd === 'pingresp' && sentPing) { out.answeredPing = true; finish() }
    })
    parser.on('error', (err: Error) => { out.parseError = err.message })
    s = connect(port, '127.0.0.1', () => {
      if (c.afterConnect) s.write(connectPrefix(c.v, `fz-${SEED}-${c.n}`))
      else sendCase()
    })
    s.on('data', (d) => parser.parse(d))
    s.on('error', () => {})
    s.on('close', () => { out.closed = true; finish() })
  })
}

/** Why an outcome breaks the rules, or undefined when it is fine. */
function judge (c: FuzzCase, o: Outcome): string | undefined {
  if (!o.closed && !o.answeredPing) return `the connection is stuck: not closed and no PINGRESP within ${STUCK_MS} ms (packets back: ${o.packets.join(',') || 'none'})`
  // A randomly mutated CONNECT may have changed the protocol version: its reply is then not v5.
  const versionKnown = c.afterConnect || c.expect !== undefined
  if (versionKnown && o.parseError !== undefined) return `the broker sent bytes its client cannot parse: ${o.parseError}`
  if (versionKnown && c.v === 5 && o.reasons.some((r) => r < 0x80)) return `an error close with a success reason code: ${o.reasons.map((r) => `0x${r.toString(16)}`).join(',')}`
  if (c.expect !== undefined) {
    if (!o.closed) return `malformed input (${c.mutation}) was ignored: the connection stayed open and answered PINGREQ (packets back: ${o.packets.join(',')})`
    // 3.1.1 has no reason codes to check: only the close (expect is empty).
    const wrong = c.v === 4 ? [] : o.reasons.filter((r) => !c.expect!.includes(r))
    if (wrong.length > 0) return `reason code ${wrong.map((r) => `0x${r.toString(16)}`).join(',')} where the spec names ${c.expect.map((r) => `0x${r.toString(16)}`).join(' or ')}`
  }
  return undefined
}

interface Ctx { b: BrokerProcessHandle }
const test = suite<Ctx>('packet fuzz')

test.before(async (ctx) => {
  // The default config, with the CONNECT timeout shortened so a CONNECT cut short is closed within the stuck bound.
  ctx.b = await startBrokerProcess({ config: 'listeners:\n  - { name: tcp, type: tcp, host: 127.0.0.1, port: 0 }\nlimits: { connectTimeout: 2s }\n' })
})
test.after(async (ctx) => { await ctx.b?.stop() })

/** A bystander subscribed from the start must keep receiving and never be disconnected. */
async function bystanderWorks (port: number, by: RawMqtt, pub: RawMqtt, k: number): Promise<string | undefined> {
  if (by.closed) return 'the bystander client was disconnected'
  if (pub.closed) return 'the bystander publisher was disconnected'
  pub.send({ cmd: 'publish', topic: 'fz-bystander/x', payload: `ping-${k}`, qos: 1, messageId: 1 + (k % 60_000) })
  try {
    const got = await by.next('publish', 5000)
    by.send({ cmd: 'puback', messageId: got.messageId })
    await pub.next('puback', 5000)
    return got.payload.toString() === `ping-${k}` ? undefined : `the bystander got ${got.payload.toString()} instead of ping-${k}`
  } catch (err) {
    return `the bystander stopped working: ${(err as Error).message}`
  }
}

const describe = (c: FuzzCase): string => `case ${c.n} (seed ${SEED}): v${c.v === 5 ? '5' : '3.1.1'} ${c.base} + ${c.mutation}${c.afterConnect ? ' (after a valid CONNECT)' : ''}: ${c.bytes.toString('hex')}`

/** Fewest kept properties that still break the same rule (greedy, on the live broker). */
async function shrink (port: number, c: FuzzCase): Promise<FuzzCase> {
  if (c.rebuild === undefined) return c
  let best = c
  for (const id of [...c.props]) {
    const props = best.props.filter((p) => p !== id)
    const bytes = best.rebuild!(props)
    if (bytes.length === 0) continue
    const trial = { ...best, props, bytes }
    if (judge(trial, await runCase(port, trial)) !== undefined) best = trial
  }
  return best
}

test(`mutated packets (seed ${SEED}, budget ${BUDGET_MS} ms): no crash, no stuck connection, only the sender's connection closed, with the spec's reason code`, async ({ b }) => {
  console.log(`packet fuzz: seed ${SEED}, budget ${BUDGET_MS} ms (replay: EDGEMQ_FUZZ_SEED=${SEED} EDGEMQ_FUZZ_CASE=<n>)`)
  const { c: by } = await RawMqtt.connected(b.port, 5, { clientId: 'fz-bystander', keepalive: 0 })
  by.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'fz-bystander/#', qos: 1 }] })
  await by.next('suback')
  const { c: pub } = await RawMqtt.connected(b.port, 5, { clientId: 'fz-publisher', keepalive: 0 })
  const deadline = Date.now() + BUDGET_MS
  // One failure per (rule, packet, mutation) is enough to report; the run goes on to find other kinds.
  const failures = new Map<string, string>()
  const inFlight = new Set<FuzzCase>()
  const counts: Record<string, number> = {}
  let next = ONE_CASE ?? 0
  let ran = 0
  let died: string | undefined
  const more = (): boolean => died === undefined && failures.size < 40 && (ONE_CASE === undefined ? Date.now() < deadline : ran === 0 && inFlight.size === 0)
  const worker = async (): Promise<void> => {
    while (more()) {
      const c = makeCase(next++)
      inFlight.add(c)
      const o = await runCase(b.port, c)
      ran += 1
      const kind = c.expect === undefined ? 'random' : c.mutation
      counts[kind] = (counts[kind] ?? 0) + 1
      if (!isAlive(b.pid)) {
        died ??= `the broker process died; the case that killed it is one of those in flight:\n${[...inFlight].map(describe).join('\n')}\nits log ends:\n${b.stderr().slice(-1500)}`
        return
      }
      inFlight.delete(c)
      const why = judge(c, o)
      const key = `${why?.replace(/0x[0-9a-f]+|\(packets back.*$/g, '')} ${c.base} ${kind}`
      if (why !== undefined && !failures.has(key)) {
        failures.set(key, '')
        const small = await shrink(b.port, c)
        failures.set(key, `${why}\n  ${describe(small)}${small !== c ? `\n  (shrunk from ${c.bytes.toString('hex')})` : ''}`)
      }
    }
  }
  const watcher = async (): Promise<void> => {
    for (let k = 0; more(); k++) {
      await new Promise((resolve) => setTimeout(resolve, 1000))
      if (died !== undefined || !isAlive(b.pid)) return
      const trouble = await bystanderWorks(b.port, by, pub, k)
      if (trouble !== undefined) { failures.set('bystander', `${trouble} (after case ${next - 1})`); return }
    }
  }
  try {
    await Promise.all([...Array.from({ length: ONE_CASE === undefined ? PARALLEL : 1 }, worker), watcher()])
  } finally {
    console.log(`packet fuzz: ${ran} cases (${Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(', ')})`)
    by.destroy(); pub.destroy()
  }
  assert.ok(ran > 0, 'no case ran')
  assert.not.ok(died, died)
  const found = [...failures.values()]
  assert.equal(found, [], `seed ${SEED}: ${found.length} kinds of failure:\n${found.join('\n')}`)
})

function isAlive (pid: number): boolean {
  try { process.kill(pid, 0); return true } catch { return false }
}

test.run()
