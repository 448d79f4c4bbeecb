// The harness of the differential tests against Mosquitto: each test file
// calls diffSuite(name) and registers scenarios. A scenario is a raw-packet
// script run against Debian's Mosquitto 2.0.11 with its defaults (a loopback
// listener and allow_anonymous, which is what its default config means for
// local clients) and against edgemq started with NO config file
// (test/conformance/default-broker.ts). Each returns a normalised transcript
// (packet ids, lengths and timings left out); the two must be equal, unless the
// scenario is in INTENDED_DIFFERENCES (test/conformance/intended-differences.ts),
// which pins both sides.
import { suite, type Test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { requireTool } from '../helpers/broker-process.ts'
import { freePort, waitForPort } from '../helpers/mosquitto-process.ts'
import { RawMqtt, type AnyPacket } from '../helpers/raw-mqtt.ts'
import { startTool, type ToolProcess } from '../helpers/tool-process.ts'
import { startDefaultBroker, type DefaultBroker } from './default-broker.ts'
import { INTENDED_DIFFERENCES } from './intended-differences.ts'

export interface DiffCtx { edgemq: DefaultBroker, mosquitto: ToolProcess, mosquittoPort: number, dir: string }
/** A scenario: the same script for both brokers; returns what must be equal. */
export type Scenario = (port: number, t: string) => Promise<unknown>

export const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))
/** EDGEMQ_DIFF_ONLY=<regex> runs only the scenarios whose names match (to replay one). */
const ONLY = process.env.EDGEMQ_DIFF_ONLY === undefined ? undefined : new RegExp(process.env.EDGEMQ_DIFF_ONLY)
let n = 0

/** A uvu suite that starts both brokers, and the scenario() that registers a comparison in it. */
export function diffSuite (name: string): { test: Test<DiffCtx>, scenario: (name: string, run: Scenario) => void } {
  const test = suite<DiffCtx>(name)
  test.before(async (ctx) => {
    const bin = requireTool('mosquitto', 'mosquitto')
    ctx.dir = await mkdtemp(join(tmpdir(), 'edgemq-mosq-diff-'))
    ctx.mosquittoPort = await freePort()
    const conf = join(ctx.dir, 'mosquitto.conf')
    // Mosquitto's defaults, made reachable on a test port: nothing else is set.
    await writeFile(conf, `listener ${ctx.mosquittoPort} 127.0.0.1\nallow_anonymous true\n`)
    ctx.mosquitto = startTool(bin, ['-c', conf])
    await waitForPort(ctx.mosquittoPort, 5000)
    ctx.edgemq = await startDefaultBroker()
  })
  test.after(async (ctx) => {
    await ctx.edgemq?.stop()
    await ctx.mosquitto?.stop()
    await rm(ctx.dir, { recursive: true, force: true })
  })
  const scenario = (name: string, run: Scenario): void => {
    if (ONLY !== undefined && !ONLY.test(name)) return
    test(name, async (ctx) => {
      // The same topics and client ids on both: the brokers are separate processes.
      const t = `mdiff/${process.pid}/${++n}`
      const fromMosquitto = await run(ctx.mosquittoPort, t)
      assert.ok(ctx.edgemq.alive(), `edgemq died before this scenario; its log ends:\n${ctx.edgemq.stderr().slice(-2000)}`)
      const fromEdgemq = await run(ctx.edgemq.port, t).finally(async () => await sleep(100))
      assert.ok(ctx.edgemq.alive(), `edgemq died in this scenario; its log ends:\n${ctx.edgemq.stderr().slice(-2000)}`)
      const intended = INTENDED_DIFFERENCES[name]
      if (intended === undefined) {
        assert.equal(fromEdgemq, fromMosquitto, `edgemq ${JSON.stringify(fromEdgemq)} != mosquitto ${JSON.stringify(fromMosquitto)}`)
      } else {
        assert.equal(fromMosquitto, intended.mosquitto, `mosquitto no longer does what INTENDED_DIFFERENCES says: ${JSON.stringify(fromMosquitto)}`)
        const allowed = intended.edgemqOneOf ?? [intended.edgemq]
        assert.ok(allowed.some((a) => JSON.stringify(a) === JSON.stringify(fromEdgemq)), `edgemq ${JSON.stringify(fromEdgemq)} is not what INTENDED_DIFFERENCES allows: ${JSON.stringify(allowed)}`)
      }
    })
  }
  return { test, scenario }
}

/** Registers the last test of a file: edgemq survived every scenario. */
export function assertSurvived (test: Test<DiffCtx>): void {
  test('edgemq is still running after every scenario', async (ctx) => {
    assert.ok(ctx.edgemq.alive(), `edgemq died during the differential tests; its log ends:\n${ctx.edgemq.stderr().slice(-3000)}`)
  })
}

export function norm (p: AnyPacket): string {
  switch (p.cmd) {
    case 'connack': return `connack ${p.reasonCode ?? p.returnCode} sp${p.sessionPresent ? 1 : 0}`
    case 'publish': {
      const props = Object.keys(p.properties ?? {}).filter((k) => k !== 'topicAlias').sort()
      return `publish ${p.topic} ${String(p.payload)} q${p.qos} r${p.retain ? 1 : 0} d${p.dup ? 1 : 0}${props.length > 0 ? ` [${props.join(',')}]` : ''}`
    }
    case 'suback': return `suback ${(p.granted as number[]).join(',')}`
    case 'unsuback': return `unsuback ${((p.granted as number[] | undefined) ?? []).join(',')}`
    case 'disconnect': return `disconnect ${p.reasonCode ?? 0}`
    case 'puback': case 'pubrec': case 'pubrel': case 'pubcomp': return `${p.cmd} ${p.reasonCode ?? 0}`
    default: return p.cmd
  }
}

/** What came back and whether the broker closed, waiting up to ms for the close. */
export async function end (c: RawMqtt, ms = 2500): Promise<{ got: string[], closed: boolean }> {
  await c.closedByBroker(ms).catch(() => {})
  const out = { got: c.received.splice(0).map(norm), closed: c.closed }
  c.destroy()
  return out
}

/** Packets that arrive within ms (the connection stays open). */
export async function settle (c: RawMqtt, ms = 300): Promise<string[]> {
  await sleep(ms)
  return c.received.splice(0).map(norm)
}

export const open = async (port: number, v: 3 | 4 | 5, hex: string): Promise<RawMqtt> => {
  const c = await RawMqtt.open(port, v)
  c.write(hex)
  return c
}
export const connected = async (port: number, v: 4 | 5, connect: Record<string, unknown> = {}): Promise<RawMqtt> => (await RawMqtt.connected(port, v, connect)).c
export const subscribed = async (port: number, v: 4 | 5, subscriptions: Array<Record<string, unknown>>, connect: Record<string, unknown> = {}, properties?: Record<string, unknown>): Promise<RawMqtt> => {
  const c = await connected(port, v, connect)
  c.send({ cmd: 'subscribe', messageId: 1, subscriptions, ...(properties === undefined ? {} : { properties }) })
  await c.next('suback')
  return c
}
export const cid = (t: string, s: string): string => `${t.replace(/\//g, '-')}-${s}`

